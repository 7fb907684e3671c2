"""WISE's folders: class-agnostic proposals, then one instance per peak.

The work of two stage kinds (:mod:`mmwsss.pipeline.stages.proposals`,
:mod:`mmwsss.pipeline.stages.wise`) (Laradji et al., BMVC 2019, with PRM's peaks):

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
from collections import Counter

import numpy as np
import torch
from PIL import Image

from ..evaluation.instance_ap import (
    atomic_save_json,
    decode_mask,
    encode_mask,
)
from ..ops.peaks import find_peaks
from ..ops.proposals import selective_search
from ..ops.wise import wise_instances
from ..utils.provenance import data_digest, digest_of, input_digest
from .per_image import run_per_image
from .refine_labels import load_score_maps

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
        images=input_digest(img_dir),
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
        data=data_digest(data_root),
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
