"""Turn exported CAMs into CRF-refined label PNGs and optionally score them.

Kinds: ``ir`` (IRN's inter-pixel relation labels, 255 = unsure), ``psa``
(AffinityNet's labels, 255 = unsure) and ``crf`` (CAM + CRF pseudo masks).

Examples:
    IRN labels of VOC train_aug from the CAM stage's export::

        python tools/refine_seeds.py ir --cam-dir work_dirs/cam/cams \\
            --data-root data/VOCdevkit/VOC2012 --split train_aug

    CAM + CRF masks of VOC train, scored against its ground truth::

        python tools/refine_seeds.py crf --cam-dir work_dirs/cam/cams \\
            --data-root data/VOCdevkit/VOC2012 --score

    Other thresholds or CRF settings::

        python tools/refine_seeds.py ir ... --label-options fg_thr=0.35

    Thresholds chosen without ground truth from the CAMs themselves (Otsu /
    multi-Otsu of the pooled per-pixel max class score, see
    ``mmwsss/ops/thresholds.py``)::

        python tools/refine_seeds.py ir ... --label-options fg_thr=auto bg_thr=auto
"""

from __future__ import annotations

import argparse
import os.path as osp

from mmengine.config import DictAction

from mmwsss.datasets.voc import VOC_CLASSES, dataset_classes, split_ids
from mmwsss.evaluation import score_label_dir
from mmwsss.pipeline import make_label_dir
from mmwsss.pipeline.refine_labels import LABEL_FUNCTIONS, score_dir_thresholds

#: Manifest of a generated dataset (FashionPaste) that lists its classes.
MANIFEST = 'fashionpaste.json'


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line.

    Args:
        argv (list[str], optional): Arguments without the program name. Default:
            None, meaning ``sys.argv[1:]``.

    Returns:
        argparse.Namespace: ``kind``, ``cam_dir``, ``data_root``, ``split``,
        ``out_dir``, ``workers``, ``score``, ``num_classes`` and ``label_options``.
    """
    parser = argparse.ArgumentParser(description='Refine CAM seeds with a dense CRF')
    parser.add_argument('kind', choices=sorted(LABEL_FUNCTIONS), help='label recipe')
    parser.add_argument('--cam-dir', required=True, help='folder of {id}.npz CAMs')
    parser.add_argument(
        '--data-root',
        required=True,
        help='VOC-layout dataset root (JPEGImages, ImageSets/Segmentation, '
        'SegmentationClass)',
    )
    parser.add_argument(
        '--split', default='train', help='ImageSets/Segmentation split to label'
    )
    parser.add_argument(
        '--out-dir', help='output folder; default: {kind}_labels beside --cam-dir'
    )
    parser.add_argument(
        '--workers',
        type=int,
        help='worker processes; default: every CPU available to this process',
    )
    parser.add_argument(
        '--score',
        action='store_true',
        help='score the labels against {data_root}/SegmentationClass',
    )
    parser.add_argument(
        '--num-classes',
        type=int,
        help='number of classes with background, for --score; default: from '
        f'{{data_root}}/{MANIFEST} if present, else PASCAL VOC ({len(VOC_CLASSES)})',
    )
    parser.add_argument(
        '--label-options',
        nargs='+',
        action=DictAction,
        default={},
        help='keyword arguments of the label function, e.g. fg_thr=0.35 '
        'crf_preset=psa; a threshold set to "auto" (bg_score, fg_thr, bg_thr, '
        'alpha_low, alpha_high) is computed from the CAMs without ground truth',
    )
    return parser.parse_args(argv)


def dataset_num_classes(data_root: str) -> int:
    """Number of classes (with background) of the dataset at ``data_root``.

    Read from a generated dataset's manifest when there is one; PASCAL VOC's
    otherwise.
    """
    return len(dataset_classes(data_root))


def main(argv: list[str] | None = None) -> dict:
    """Write the label PNGs and print their score.

    A previous run with the same options and inputs is resumed (its finished
    PNGs are reused); an output folder of other options or inputs is moved
    aside to ``{out_dir}.old-{time}`` and the labels are made afresh.

    Args:
        argv (list[str], optional): Arguments without the program name. Default:
            None, meaning ``sys.argv[1:]``.

    Returns:
        dict: ``out_dir``, ``written``, ``reused``, ``provenance``,
        ``moved_to`` and, with ``--score``, ``score`` (see
        :func:`~mmwsss.evaluation.score_label_dir`).
    """
    args = parse_args(argv)
    out_dir = args.out_dir or osp.join(
        osp.dirname(osp.abspath(args.cam_dir)), f'{args.kind}_labels'
    )
    ids = split_ids(args.data_root, args.split)
    auto = [k for k, v in args.label_options.items() if v == 'auto']
    if auto:
        found, _ = score_dir_thresholds(args.cam_dir, ids)
        unknown = sorted(set(auto) - set(found))
        if unknown:
            raise KeyError(
                f'no ground-truth-free rule for {unknown}; known: {sorted(found)}'
            )
        args.label_options.update({k: found[k] for k in auto})
        print(
            'ground-truth-free thresholds from the CAMs: '
            + ', '.join(f'{k}={found[k]}' for k in auto)
        )
    counts = make_label_dir(
        args.kind,
        args.cam_dir,
        osp.join(args.data_root, 'JPEGImages'),
        ids,
        out_dir,
        workers=args.workers,
        **args.label_options,
    )
    if counts['moved_to']:
        print(
            f'{out_dir} held labels of other options or inputs: moved aside to '
            f'{counts["moved_to"]}'
        )
    print(
        f'{args.kind} labels in {out_dir}: {counts["written"]} written, '
        f'{counts["reused"]} reused (provenance {counts["provenance"]})'
    )
    result = dict(out_dir=out_dir, label_options=args.label_options, **counts)
    if args.score:
        num_classes = args.num_classes or dataset_num_classes(args.data_root)
        score = score_label_dir(
            out_dir, osp.join(args.data_root, 'SegmentationClass'), ids, num_classes
        )
        print(
            f'mIoU {score["mIoU"]:.2f} (unsure = wrong), labelled-only mIoU '
            f'{score["mIoU_labelled"]:.2f}, coverage {score["coverage"]:.2f}, '
            f'precision {score["precision"]:.2f} on {len(ids)} images'
        )
        print('per-class IoU:', ', '.join(f'{iou:.1f}' for iou in score['IoU']))
        result['score'] = score
    return result


if __name__ == '__main__':
    main()
