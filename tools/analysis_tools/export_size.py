"""Bytes per image of the CAM exports, float32 (format 0) against the compact
format (:mod:`mmwsss.utils.map_file`), and the seed mIoU of the same CAMs
stored both ways.

    python tools/analysis_tools/export_size.py CONFIG CHECKPOINT \\
        --data-root data/fashionpaste_demo --work-dir work_dirs/export_size

For each image size (the bench's 160 x 160; VOC's about 500 x 375; COCO's
about 640 x 480) the trained CAM classifier exports the CAMs of the training
images of ``--data-root`` in float32 (the images, and their masks, resized to
that size when it is not theirs: a stride-16 classifier's maps are then as
smooth as on VOC or COCO images). Each file is then written in the old format
(``np.savez``, float32) and in the compact one (the exporter's default), and
the sizes are read off the disk. The bytes per map (the files' bytes above
the header of a file without maps, over their maps) give the estimate of an
image with a dataset's typical class count (bench and VOC 1.5, COCO 2.9)
and, times its training images, the dataset's total. Seeds (a
pixel takes its strongest class above the background score, as
``SeedIoUMetric`` counts) are scored against the ground truth at the fixed
background score 0.15, at the best of the sweep, and at the ground-truth-free
Otsu score of each folder's own maps (the ``Thresholds`` stage's rule).
Writes ``benchmarks/export_size.json`` (``--out``).
"""

from __future__ import annotations

import argparse
import json
import os
import os.path as osp
import shutil
import time

import numpy as np
import torch
from mmengine.config import Config
from mmengine.runner import Runner
from PIL import Image

from mmwsss.datasets import split_ids
from mmwsss.evaluation import confusion_to_iou, histogram_to_confusion, sweep_histogram
from mmwsss.evaluation.seed_metric import DEFAULT_BG_SCORES
from mmwsss.pipeline.refine_labels import score_dir_thresholds
from mmwsss.utils import safe_checkpoint_loader
from mmwsss.utils.map_file import load_map_file, save_map_file

#: name -> (image size (W, H) or None for the data's own, typical classes per
#: image, training images of the dataset the size stands for)
SIZES = {
    'bench': (None, 1.5, 2000),
    'voc': ((500, 375), 1.5, 10582),
    'coco': ((640, 480), 2.9, 82783),
}
FIXED_BG = 0.15
#: What the results record of a generated data set (its manifest's keys).
DATA_KEYS = ('name', 'size', 'seed', 'source', 'counts')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='CAM classifier config')
    parser.add_argument('checkpoint', help='its trained weights')
    parser.add_argument('--data-root', required=True, help='a FashionPaste set')
    parser.add_argument('--work-dir', default='work_dirs/export_size')
    parser.add_argument(
        '--num-images',
        type=int,
        default=100,
        help='training images exported at the resized sizes (all at the data '
        "set's own size)",
    )
    parser.add_argument('--sizes', nargs='+', default=list(SIZES), choices=list(SIZES))
    parser.add_argument('--out', default='benchmarks/export_size.json')
    return parser.parse_args(argv)


def resized_copy(data_root: str, out: str, size, ids: list[str]) -> None:
    """The images ``ids`` of ``data_root`` and their masks resized to ``size``
    (W, H): bilinear images, nearest-neighbour masks, split ``train``."""
    for folder in ('JPEGImages', 'SegmentationClass', 'ImageSets/Segmentation'):
        os.makedirs(osp.join(out, folder), exist_ok=True)
    for image_id in ids:
        with Image.open(osp.join(data_root, 'JPEGImages', image_id + '.jpg')) as im:
            im.convert('RGB').resize(size, Image.BILINEAR).save(
                osp.join(out, 'JPEGImages', image_id + '.jpg'), quality=95
            )
        mask_path = osp.join(data_root, 'SegmentationClass', image_id + '.png')
        with Image.open(mask_path) as mask:
            mask.resize(size, Image.NEAREST).save(
                osp.join(out, 'SegmentationClass', image_id + '.png')
            )
    with open(osp.join(out, 'ImageSets/Segmentation/train.txt'), 'w') as f:
        f.write('\n'.join(ids) + '\n')
    for name in ('cls_labels.json', 'fashionpaste.json'):
        shutil.copy(osp.join(data_root, name), osp.join(out, name))


def export_float32(config, checkpoint, data_root, ann_file, work_dir) -> str:
    """Export the CAMs of ``ann_file`` in float32 (its test loop); returns
    the folder."""
    cfg = Config.fromfile(config)
    cfg.work_dir = work_dir
    cfg.load_from = checkpoint
    cfg.test_dataloader.dataset.data_root = data_root
    cfg.test_dataloader.dataset.ann_file = ann_file
    cfg.test_dataloader.num_workers = 0
    cfg.test_dataloader.persistent_workers = False
    cfg.test_cfg.exporter = dict(
        type='CAMExporter', out_dir='{work_dir}/cams', dtype='float32'
    )
    cfg.test_evaluator = dict(type='SeedIoUMetric')
    runner = Runner.from_cfg(cfg)
    with safe_checkpoint_loader():
        runner.test()
    return osp.join(work_dir, 'cams')


def _write(path: str, keys, maps: dict, layout: str) -> None:
    if layout == 'float32':
        np.savez(
            path,
            keys=np.asarray(keys, np.int16),
            **{name: maps[name].astype(np.float32) for name in ('cam', 'high_res')},
        )
    else:
        save_map_file(path, keys, cam=maps['cam'], high_res=maps['high_res'])


def rewrite(cam_dir: str, ids: list[str], out_dir: str, layout: str) -> dict:
    """Write every file of ``cam_dir`` in ``layout`` ('float32': the old
    ``np.savez``; 'compact': the exporter's default) to ``out_dir``: bytes,
    maps and milliseconds per image, and the bytes of a file without maps
    (the header) and per map (the files' bytes above their headers over
    their maps)."""
    os.makedirs(out_dir, exist_ok=True)
    sizes, counts, write_s, read_s = [], [], 0.0, 0.0
    for image_id in ids:
        keys, maps = load_map_file(osp.join(cam_dir, image_id + '.npz'))
        path = osp.join(out_dir, image_id + '.npz')
        start = time.perf_counter()
        _write(path, keys, maps, layout)
        write_s += time.perf_counter() - start
        start = time.perf_counter()
        load_map_file(path)
        read_s += time.perf_counter() - start
        sizes.append(osp.getsize(path))
        counts.append(len(keys))
    empty = {name: value[:0] for name, value in maps.items()}
    header_path = osp.join(out_dir, '_no_maps.npz')
    _write(header_path, keys[:0], empty, layout)
    header = osp.getsize(header_path)
    os.remove(header_path)
    per_map = (sum(sizes) - header * len(sizes)) / max(sum(counts), 1)
    return dict(
        mean_bytes=round(float(np.mean(sizes)), 1),
        mean_classes=round(float(np.mean(counts)), 3),
        header_bytes=header,
        bytes_per_map=round(per_map, 1),
        write_ms=round(1000 * write_s / len(ids), 2),
        read_ms=round(1000 * read_s / len(ids), 2),
    )


def seed_scores(cam_dir: str, data_root: str, ids: list[str]) -> dict:
    """Seed mIoU (%) of a CAM folder at 0.15, the sweep's best and its own
    Otsu background score."""
    classes = json.load(open(osp.join(data_root, 'fashionpaste.json')))['classes']
    thresholds, _ = score_dir_thresholds(cam_dir, ids, progress=False)
    otsu = round(float(thresholds['bg_score']), 6)
    bg_scores = sorted({*DEFAULT_BG_SCORES, FIXED_BG, otsu})
    index, counts = [], []
    for image_id in ids:
        keys, maps = load_map_file(osp.join(cam_dir, image_id + '.npz'), ('high_res',))
        gt = np.asarray(
            Image.open(osp.join(data_root, 'SegmentationClass', image_id + '.png'))
        )
        i, c = sweep_histogram(
            torch.from_numpy(gt.astype(np.int64)),
            torch.from_numpy(maps['high_res']),
            torch.from_numpy(keys),
            bg_scores,
            len(classes),
        )
        index.append(i)
        counts.append(c)
    conf = histogram_to_confusion(
        np.concatenate(index), np.concatenate(counts), len(bg_scores), len(classes)
    )
    miou = np.array([np.nanmean(confusion_to_iou(c)) * 100 for c in conf])
    best = int(np.nanargmax(miou))
    return dict(
        mIoU_fixed=round(float(miou[bg_scores.index(FIXED_BG)]), 3),
        mIoU_best=round(float(miou[best]), 3),
        best_bg_score=bg_scores[best],
        otsu_bg_score=round(otsu, 4),
        mIoU_otsu=round(float(miou[bg_scores.index(otsu)]), 3),
    )


def measure(args, name: str) -> dict:
    size, typical, num_dataset = SIZES[name]
    work = osp.join(args.work_dir, name)
    ids = split_ids(args.data_root, 'train')
    data_root = args.data_root
    if size is not None:
        ids = ids[: args.num_images]
        data_root = osp.join(work, 'data')
        if not osp.isdir(data_root):
            resized_copy(args.data_root, data_root, size, ids)
    cam_dir = osp.join(work, 'cams')
    if not all(osp.isfile(osp.join(cam_dir, i + '.npz')) for i in ids):
        ann_file = 'ImageSets/Segmentation/train.txt'
        cam_dir = export_float32(
            args.config, args.checkpoint, data_root, ann_file, work
        )
    with Image.open(osp.join(data_root, 'JPEGImages', ids[0] + '.jpg')) as im:
        width, height = im.size
    row = dict(image_size=[width, height], images=len(ids), typical_classes=typical)
    row['dataset_images'] = num_dataset
    for layout in ('float32', 'compact'):
        folder = osp.join(work, layout)
        stats = rewrite(cam_dir, ids, folder, layout)
        estimate = stats['header_bytes'] + typical * stats['bytes_per_map']
        stats['bytes_per_image_typical'] = round(estimate)
        stats['dataset_total_gb'] = round(estimate * num_dataset / 1e9, 2)
        stats['seeds'] = seed_scores(folder, data_root, ids)
        row[layout] = stats
    row['ratio'] = round(
        row['float32']['bytes_per_image_typical']
        / row['compact']['bytes_per_image_typical'],
        1,
    )
    return row


def main(argv=None) -> dict:
    args = parse_args(argv)
    manifest = osp.join(args.data_root, 'fashionpaste.json')
    data = dict(data_root=args.data_root)
    if osp.isfile(manifest):
        with open(manifest) as f:
            data.update({k: v for k, v in json.load(f).items() if k in DATA_KEYS})
    results = dict(
        what='CAM export bytes per image and seed mIoU, float32 (format 0) '
        'against the compact format (format 1: uint8 with a range per map, '
        'row differences, deflate)',
        config=args.config,
        data=data,
        sizes={name: measure(args, name) for name in args.sizes},
    )
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    with open(args.out, 'w') as f:
        json.dump(results, f, indent=1)
    print(json.dumps(results, indent=1))
    return results


if __name__ == '__main__':
    main()
