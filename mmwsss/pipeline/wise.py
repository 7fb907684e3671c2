"""WISE in pipelines: class-agnostic proposals, then one instance per peak.

Two stage kinds (Laradji et al., BMVC 2019, with PRM's peaks):

``Proposals``: ``{stage}/proposals/{id}.json`` per image of a split, each
``{"file_name", "height", "width", "proposals": [{"segmentation": COCO RLE,
"score": objectness}, ...]}`` (by descending score). The generator is
:func:`mmwsss.ops.proposals.selective_search`; precomputed proposals (MCG, COB,
DeepMask, ...) are used by writing the same files (one per image, masks as
COCO RLE of the image size, any objectness in [0, 1]) and passing their folder
as ``proposal_dir`` of the ``WISE`` stage, or through a ``Proposals`` stage
with ``source=FOLDER`` (files checked, not recomputed).

``WISE``: for each image, the peaks of its classes' response maps (a PRM or
CAM stage's exported maps: local 3x3 maxima above the map's median and above
``min_score``), each matched to the best proposal containing it
(:func:`mmwsss.ops.wise.wise_instances`), written in the instance exporter's
format (``{stage}/pseudo_instances/{id}.json``), merged into a COCO dataset
(``pseudo_instances_coco``) for Mask R-CNN and scored (mask AP, AP50) against
the split's ground-truth instances. What could not become an instance is
counted, not dropped silently: peaks of classes the image is not labelled with,
peaks that no proposal contains, duplicates removed by NMS, and images with no
peak of any of their classes.
"""

from __future__ import annotations

import functools
import json
import os.path as osp
import time
from collections import Counter

import numpy as np
import torch
from mmengine.dist import is_main_process
from PIL import Image

from ..datasets import dataset_classes, split_ids
from ..engine.instance_exporter import merge_instance_jsons
from ..evaluation.instance_ap import (
    atomic_save_json,
    decode_mask,
    encode_mask,
    instance_ap,
)
from ..ops.peaks import find_peaks
from ..ops.proposals import selective_search
from ..ops.wise import wise_instances
from ..registry import STAGES
from ..utils.provenance import digest_of, input_digest
from .per_image import run_per_image
from .refine_labels import load_score_maps
from .stage_runner import INPUT_ARGS, on_all_ranks

#: Counted reasons of :func:`make_wise_dir` for what became no instance.
SKIP_KEYS = (
    'peak_of_unlabelled_class',
    'peak_without_proposal',
    'duplicate',
    'image_without_peak',
)


def load_proposals(path: str) -> tuple[np.ndarray, np.ndarray]:
    """Proposal masks ``(P, H, W)`` bool and scores ``(P,)`` of one image.

    Raises:
        FileNotFoundError: If the file is missing (names the image).
        KeyError: If it is no proposal file.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'no proposals for image {osp.splitext(osp.basename(path))[0]!r}: '
            f'{path} is missing (run the Proposals stage on this split, or add '
            'the precomputed file)'
        )
    with open(path) as f:
        record = json.load(f)
    if 'proposals' not in record or 'height' not in record:
        raise KeyError(
            f'{path} is no proposal file: it needs height, width and a '
            "'proposals' list of {segmentation: COCO RLE, score}"
        )
    h, w = record['height'], record['width']
    proposals = record['proposals']
    if not proposals:
        return np.zeros((0, h, w), bool), np.zeros(0)
    masks = np.stack([decode_mask(p['segmentation']) for p in proposals])
    if masks.shape[1:] != (h, w):
        raise ValueError(f'{path}: masks of {masks.shape[1:]}, the image {(h, w)}')
    return masks, np.array([float(p['score']) for p in proposals])


def _proposals_one(image_id: str, img_dir: str, out_dir: str, options: dict) -> None:
    path = osp.join(img_dir, image_id + '.jpg')
    image = np.asarray(Image.open(path).convert('RGB'))
    masks, scores = selective_search(image, **options)
    atomic_save_json(
        osp.join(out_dir, image_id + '.json'),
        dict(
            file_name=osp.basename(path),
            height=int(image.shape[0]),
            width=int(image.shape[1]),
            proposals=[
                dict(segmentation=encode_mask(m), score=float(s))
                for m, s in zip(masks, scores)
            ],
        ),
    )


def make_proposal_dir(
    img_dir: str,
    ids: list[str],
    out_dir: str,
    workers: int = 2,
    progress: bool = True,
    **options,
) -> dict:
    """Selective-search proposals of each image (see the module doc).

    Resumable and rank-sharded as the label folders
    (:func:`mmwsss.pipeline.per_image.run_per_image`); ``options`` go to
    :func:`~mmwsss.ops.proposals.selective_search`.
    """
    record = dict(
        kind='selective search proposals',
        options=options,
        img_dir=osp.abspath(img_dir),
        ids=digest_of(list(dict.fromkeys(ids))),
    )
    work = functools.partial(
        _proposals_one, img_dir=img_dir, out_dir=out_dir, options=options
    )
    return run_per_image(
        out_dir,
        record,
        ids,
        '.json',
        work,
        lambda i: [osp.join(img_dir, i + '.jpg')],
        desc='proposals',
        workers=workers,
        progress=progress,
    )


def _wise_one(
    image_id: str,
    cam_dir: str,
    proposal_dir: str,
    out_dir: str,
    labels: dict,
    min_score: float,
    nms_iou: float,
) -> None:
    keys, maps = load_score_maps(osp.join(cam_dir, image_id + '.npz'))
    masks, scores = load_proposals(osp.join(proposal_dir, image_id + '.json'))
    if masks.shape[1:] != maps.shape[1:]:
        raise ValueError(
            f'{image_id}: proposals of {masks.shape[1:]}, maps of {maps.shape[1:]}'
        )
    peaks = find_peaks(
        torch.from_numpy(maps.astype(np.float32)),
        torch.from_numpy(keys.astype(np.int64)),
        min_score=min_score,
    )
    chosen, skipped = wise_instances(peaks, masks, scores, labels[image_id], nms_iou)
    mine = {int(c) for c in labels[image_id]}
    if not any(p[0] in mine for p in peaks):
        skipped['image_without_peak'] += 1
    h, w = maps.shape[1:]
    atomic_save_json(
        osp.join(out_dir, image_id + '.json'),
        dict(
            file_name=image_id + '.jpg',
            height=int(h),
            width=int(w),
            instances=[
                dict(
                    category_id=inst['label'],
                    score=inst['score'],
                    segmentation=encode_mask(inst['mask']),
                    objectness=inst['objectness'],
                )
                for inst in chosen
            ],
            skipped={k: int(skipped.get(k, 0)) for k in SKIP_KEYS},
        ),
    )


def _image_labels(data_root: str, ids: list[str]) -> dict[str, list[int]]:
    path = osp.join(data_root, 'cls_labels.json')
    with open(path) as f:
        found = json.load(f)
    missing = [i for i in ids if i not in found]
    if missing:
        raise KeyError(
            f'{len(missing)} image(s) have no image labels in {path} (e.g. '
            f'{missing[0]!r})'
        )
    return {i: [int(c) for c in found[i]] for i in ids}


def make_wise_dir(
    cam_dir: str,
    proposal_dir: str,
    data_root: str,
    ids: list[str],
    out_dir: str,
    min_score: float = 0.0,
    nms_iou: float = 0.3,
    workers: int = 2,
    progress: bool = True,
) -> dict:
    """WISE instances of each image (see the module doc).

    Returns:
        dict: ``written`` / ``reused`` / ``provenance`` / ``moved_to`` and
        ``skipped`` (the counts of :data:`SKIP_KEYS` over the split, read back
        from every image's file, resumed ones too) and ``instances``.
    """
    labels = _image_labels(data_root, ids)
    record = dict(
        kind='WISE instances',
        options=dict(min_score=min_score, nms_iou=nms_iou),
        maps=input_digest(cam_dir),
        proposals=input_digest(proposal_dir),
        ids=digest_of(list(dict.fromkeys(ids))),
    )
    work = functools.partial(
        _wise_one,
        cam_dir=cam_dir,
        proposal_dir=proposal_dir,
        out_dir=out_dir,
        labels=labels,
        min_score=min_score,
        nms_iou=nms_iou,
    )
    counts = run_per_image(
        out_dir,
        record,
        ids,
        '.json',
        work,
        lambda i: [
            osp.join(cam_dir, i + '.npz'),
            osp.join(proposal_dir, i + '.json'),
        ],
        desc='WISE instances',
        workers=workers,
        progress=progress,
    )
    skipped, instances = Counter(), 0
    for image_id in dict.fromkeys(ids):
        with open(osp.join(out_dir, image_id + '.json')) as f:
            record = json.load(f)
        skipped.update(record.get('skipped', {}))
        instances += len(record['instances'])
    return dict(counts, skipped=dict(skipped), instances=instances)


@STAGES.register_module('Proposals')
@on_all_ranks
def _proposals_stage(
    ctx,
    name: str,
    split: str = 'train',
    workers: int = 2,
    source: str | None = None,
    proposal_options: dict | None = None,
) -> dict:
    """Class-agnostic proposals of a split's images (``source``: a folder of
    precomputed proposal files instead, checked and used as they are)."""
    ids = split_ids(ctx.data_root, split)
    start = time.perf_counter()
    if source is not None:
        for image_id in ids:
            load_proposals(osp.join(source, image_id + '.json'))  # checks
        out_dir, counts = osp.abspath(source), dict(written=0, reused=len(ids))
    else:
        out_dir = osp.abspath(osp.join(ctx.stage_dir(name), 'proposals'))
        counts = make_proposal_dir(
            osp.join(ctx.data_root, 'JPEGImages'),
            ids,
            out_dir,
            workers=workers,
            **dict(proposal_options or {}),
        )
    seconds = time.perf_counter() - start
    return dict(
        kind='proposals',
        out_dir=out_dir,
        outputs=dict(proposals=out_dir),
        scored_on=split,
        seconds=round(seconds, 1),
        images_per_s=round(counts['written'] / seconds, 2)
        if counts['written'] == len(ids) and seconds > 0
        else None,
        **counts,
    )


@STAGES.register_module('WISE')
@on_all_ranks
def _wise_stage(
    ctx,
    name: str,
    cams: str,
    proposals: str,
    split: str = 'train',
    thresholds: str | None = None,
    min_score=0.0,
    nms_iou: float = 0.3,
    workers: int = 2,
    gt_instances: bool = True,
) -> dict:
    """WISE pseudo instances from a stage's class maps and a Proposals stage;
    ``min_score='auto:bg_score'`` reads the maps' ground-truth-free background
    score from a ``thresholds`` stage."""
    cam_dir = ctx.output_of(name, cams, INPUT_ARGS['cams'])
    proposal_dir = ctx.output_of(name, proposals, INPUT_ARGS['proposals'])
    found = ctx.thresholds_of(name, thresholds) if thresholds else None
    min_score = float(ctx.resolve(name, min_score, found))
    ids = split_ids(ctx.data_root, split)
    out_dir = osp.abspath(osp.join(ctx.stage_dir(name), 'pseudo_instances'))
    start = time.perf_counter()
    counts = make_wise_dir(
        cam_dir,
        proposal_dir,
        ctx.data_root,
        ids,
        out_dir,
        min_score=min_score,
        nms_iou=nms_iou,
        workers=workers,
    )
    coco = osp.abspath(osp.join(ctx.stage_dir(name), 'pseudo_instances_coco.json'))
    image_ids = {stem: i + 1 for i, stem in enumerate(ids)}
    classes = dataset_classes(ctx.data_root)
    if is_main_process():  # every rank's files are written (counts summed)
        merge_instance_jsons(
            out_dir, image_ids, coco, as_annotations=True, classes=classes
        )
    result = dict(
        kind='wise',
        out_dir=out_dir,
        outputs=dict(pseudo_instances=out_dir, pseudo_instances_coco=coco),
        scored_on=split,
        options=dict(min_score=min_score, nms_iou=nms_iou),
        seconds=round(time.perf_counter() - start, 1),
        **counts,
    )
    if found is not None:
        result['thresholds'] = found
    if gt_instances and is_main_process():
        from ..datasets.coco_gt import voc_instances_to_coco

        gt = voc_instances_to_coco(ctx.data_root, split, classes=classes)
        results = merge_instance_jsons(
            out_dir, image_ids, osp.join(ctx.stage_dir(name), 'results.json')
        )
        scores = instance_ap(gt, results)
        result['metrics'] = {
            'instance/AP50': scores['AP50'],
            'instance/AP': scores['AP'],
        }
    return result
