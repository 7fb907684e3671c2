"""WISE's folders: class-agnostic proposals, then one instance per peak.

The work of two stage kinds (:mod:`mmwsss.pipeline.stages.proposals`,
:mod:`mmwsss.pipeline.stages.wise`) (Laradji et al., BMVC 2019, with PRM's peaks):

``Proposals``: ``{stage}/proposals/{id}.json`` per image of a split, each
``{"file_name", "height", "width", "proposals": [{"segmentation": COCO RLE,
"score": objectness}, ...]}`` (by descending score). The generator is
:func:`mmwsss.ops.proposals.selective_search`; precomputed proposals (MCG, COB,
DeepMask, ...) are used by writing the same files (one per image, masks as
COCO RLE of the image size, any objectness in [0, 1]) and passing their folder
to a ``Proposals`` stage as ``source=FOLDER`` (files checked, not recomputed).

``WISE``: for each image, the peaks of its classes and their response maps,
each matched to a proposal by PRM's retrieval score (over every proposal within
PRM's size limits by default; or, WISE's rule, over those holding the peak and
no other peak), then PRM's class-agnostic NMS
(:func:`mmwsss.ops.wise.wise_instances`). The
peaks come from a PRM stage's peak response files
(:class:`~mmwsss.engine.instance_exporter.PeakResponseExporter`: peaks on the
class response map's own grid, one peak response map each, the raw class maps
for the background penalty) and are kept where their response exceeds
``min_score`` times their class map's maximum; an instance's score is the
sigmoid of its peak's response (the class probability that peak alone would
give). Without peak response files (a CAM stage's maps), the peaks are those
of the full-resolution maps above ``min_score`` and each peak's response map is
its class's map: the retrieval then has PRM's class-aware cue, not its
instance-aware one. The instances are written in the instance exporter's format
(``{stage}/pseudo_instances/{id}.json``, with the image's peaks), merged into a
COCO dataset (``pseudo_instances_coco``) for Mask R-CNN and scored against the
split's ground-truth instances. What could not become an instance is counted,
not dropped silently: peaks of classes the image is not labelled with, peaks
that no proposal takes, duplicates removed by NMS, and images with no peak of
any of their classes.
"""

from __future__ import annotations

import functools
import json
import os.path as osp
from collections import Counter

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from ..engine.instance_exporter import load_peak_responses
from ..evaluation.instance_ap import (
    atomic_save_json,
    decode_mask,
    encode_mask,
)
from ..ops.peaks import find_peaks
from ..ops.proposals import selective_search
from ..ops.wise import PRM_RETRIEVAL, background_mask, wise_instances
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


def _resized_shares(maps: np.ndarray, size, mode: str) -> np.ndarray:
    """``(K, h, w)`` maps resized to ``size`` (``mode``), clipped at 0 and
    divided by their sums (all zero where nothing is positive)."""
    up = F.interpolate(
        torch.from_numpy(maps)[:, None],
        size=tuple(size),
        mode=mode,
        align_corners=False,
    )[:, 0].clamp(min=0)
    return (up / up.flatten(1).sum(1).clamp(min=1e-12).view(-1, 1, 1)).numpy()


def prm_cues(
    cues: dict, size, min_score: float, bg_factor: float, instance_cue: bool = True
) -> tuple[list[tuple], np.ndarray, dict[int, np.ndarray]]:
    """Peaks, response maps and class backgrounds at ``size`` from a peak
    response file's arrays (:func:`load_peak_responses`): the peaks whose
    response exceeds ``min_score`` times their class map's maximum, scored by
    the sigmoid of their response. Without ``instance_cue`` each peak's
    response map is its class's map (resized bicubically, clipped at 0,
    summing to 1): PRM's retrieval without its instance-aware cue."""
    maps = cues['prm_class_maps']
    index = {int(k): i for i, k in enumerate(cues['keys'])}
    tops = maps.max(axis=(1, 2)) if len(maps) else np.zeros(0)
    keep = [
        i
        for i, (label, value) in enumerate(
            zip(cues['peak_labels'], cues['peak_values'])
        )
        if tops[index[int(label)]] > 0 and value > min_score * tops[index[int(label)]]
    ]
    peaks = [
        (
            int(cues['peak_labels'][i]),
            int(cues['peak_points'][i, 0]),
            int(cues['peak_points'][i, 1]),
            float(1 / (1 + np.exp(-cues['peak_values'][i]))),
        )
        for i in keep
    ]
    responses = cues['peak_responses'][keep]
    if not instance_cue and peaks:
        shares = _resized_shares(maps, size, 'bicubic')
        responses = shares[[index[p[0]] for p in peaks]]
    if len(responses) and responses.shape[1:] != tuple(size):
        responses = _resized_shares(responses, size, 'bilinear')
    backgrounds = {
        int(k): background_mask(maps[i], size, bg_factor) for k, i in index.items()
    }
    return peaks, responses, backgrounds


def map_cues(
    keys: np.ndarray, maps: np.ndarray, min_score: float, bg_factor: float
) -> tuple[list[tuple], list[np.ndarray], dict[int, np.ndarray]]:
    """Peaks, response maps and class backgrounds from class maps alone (no
    peak response maps): the maps' peaks above ``min_score``, each with its
    class's map (divided by its sum) as response map."""
    peaks = find_peaks(
        torch.from_numpy(maps.astype(np.float32)),
        torch.from_numpy(keys.astype(np.int64)),
        min_score=min_score,
    )
    index = {int(k): i for i, k in enumerate(keys)}
    shares = [m.clip(min=0) / max(float(m.clip(min=0).sum()), 1e-12) for m in maps]
    responses = [shares[index[p[0]]] for p in peaks]
    backgrounds = {
        int(k): background_mask(maps[i], maps.shape[1:], bg_factor)
        for k, i in index.items()
    }
    return peaks, responses, backgrounds


def _wise_one(
    image_id: str,
    cam_dir: str,
    peak_dir: str | None,
    proposal_dir: str,
    out_dir: str,
    labels: dict,
    min_score: float,
    retrieval: dict,
) -> None:
    masks, scores = load_proposals(osp.join(proposal_dir, image_id + '.json'))
    size = masks.shape[1:]
    retrieval = dict(retrieval)
    bg_factor = retrieval.pop('bg_factor')
    instance_cue = retrieval.pop('instance_cue', True)
    if peak_dir is not None:
        cues = load_peak_responses(osp.join(peak_dir, image_id + '.npz'))
        points = cues['peak_points']
        if len(points) and (points.max(axis=0) >= np.array(size)).any():
            raise ValueError(
                f'{image_id}: peaks at up to {points.max(axis=0).tolist()} '
                f'outside the proposals of {size}: not the same image size'
            )
        peaks, responses, backgrounds = prm_cues(
            cues, size, min_score, bg_factor, instance_cue
        )
    else:
        keys, maps = load_score_maps(osp.join(cam_dir, image_id + '.npz'))
        if maps.shape[1:] != size:
            raise ValueError(
                f'{image_id}: proposals of {size}, maps of {maps.shape[1:]}'
            )
        peaks, responses, backgrounds = map_cues(keys, maps, min_score, bg_factor)
    chosen, skipped = wise_instances(
        peaks, responses, masks, scores, labels[image_id], backgrounds, **retrieval
    )
    mine = {int(c) for c in labels[image_id]}
    if not any(p[0] in mine for p in peaks):
        skipped['image_without_peak'] += 1
    h, w = size
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
                    retrieval=inst['retrieval'],
                )
                for inst in chosen
            ],
            peaks=[list(p) for p in peaks if p[0] in mine],
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
    peak_dir: str | None = None,
    alpha: float = PRM_RETRIEVAL['alpha'],
    beta: float = PRM_RETRIEVAL['beta'],
    bg_factor: float = PRM_RETRIEVAL['bg_factor'],
    contour_width: int = PRM_RETRIEVAL['contour_width'],
    one_point: bool = False,
    candidates: str = 'all',
    size_limits: tuple | None = PRM_RETRIEVAL['size_limits'],
    instance_cue: bool = True,
) -> dict:
    """WISE instances of each image (see the module doc).

    Args:
        cam_dir (str): Class maps (CAM files), read where ``peak_dir`` is None.
        proposal_dir (str): Proposal files.
        data_root (str): Dataset root (``cls_labels.json``).
        ids (list[str]): Image ids.
        out_dir (str): Output folder.
        min_score (float): Peaks kept above this fraction of their class map's
            maximum. Default: 0.0.
        nms_iou (float): Class-agnostic NMS IoU. Default: 0.3 (PRM's).
        workers (int): Worker processes. Default: 2.
        progress (bool): Show a progress bar. Default: True.
        peak_dir (str, optional): Peak response files of a PRM stage.
            Default: None (peaks of the class maps).
        alpha, beta, bg_factor, contour_width: PRM's retrieval parameters
            (:mod:`mmwsss.ops.wise`). Defaults: PRM's (0.8, 2.0 per image
            area, 0.95, 5).
        one_point (bool): WISE's one-point-per-proposal rule. Default: False.
        candidates (str): ``'all'`` (PRM's retrieval over every proposal) or
            ``'holding'`` (the proposals holding the peak). Default: 'all'.
        size_limits (tuple, optional): Proposal area limits as fractions of
            the image. Default: PRM's (0.00002, 0.85).
        instance_cue (bool): Score with each peak's response map; False:
            with its class map instead (PRM's retrieval without the
            instance-aware cue, :func:`prm_cues`). Default: True.

    Returns:
        dict: ``written`` / ``reused`` / ``provenance`` / ``moved_to`` and
        ``skipped`` (the counts of :data:`SKIP_KEYS` over the split, read back
        from every image's file, resumed ones too), ``instances`` and ``peaks``
        (the peaks of the images' own classes).
    """
    labels = _image_labels(data_root, ids)
    retrieval = dict(
        alpha=alpha,
        beta=beta,
        bg_factor=bg_factor,
        contour_width=contour_width,
        one_point=one_point,
        nms_iou=nms_iou,
        candidates=candidates,
        size_limits=None if size_limits is None else list(size_limits),
    )
    if not instance_cue:  # recorded only where it departs from PRM
        retrieval['instance_cue'] = False
    source = peak_dir if peak_dir is not None else cam_dir
    record = dict(
        kind='WISE instances',
        options=dict(min_score=min_score, **retrieval),
        cues='peak responses' if peak_dir is not None else 'class maps',
        maps=input_digest(source),
        proposals=input_digest(proposal_dir),
        data=data_digest(data_root),
        ids=digest_of(list(dict.fromkeys(ids))),
    )
    work = functools.partial(
        _wise_one,
        cam_dir=cam_dir,
        peak_dir=peak_dir,
        proposal_dir=proposal_dir,
        out_dir=out_dir,
        labels=labels,
        min_score=min_score,
        retrieval=retrieval,
    )
    counts = run_per_image(
        out_dir,
        record,
        ids,
        '.json',
        work,
        lambda i: [
            osp.join(source, i + '.npz'),
            osp.join(proposal_dir, i + '.json'),
        ],
        desc='WISE instances',
        workers=workers,
        progress=progress,
    )
    skipped, instances, peaks = Counter(), 0, 0
    for image_id in dict.fromkeys(ids):
        with open(osp.join(out_dir, image_id + '.json')) as f:
            record = json.load(f)
        skipped.update(record.get('skipped', {}))
        instances += len(record['instances'])
        peaks += len(record.get('peaks', []))
    return dict(counts, skipped=dict(skipped), instances=instances, peaks=peaks)
