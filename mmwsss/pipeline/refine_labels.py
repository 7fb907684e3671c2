"""Write a folder of CRF-refined label PNGs from a folder of CAM files.

Input: the CAM stage's ``{cam_dir}/{id}.npz`` (``keys`` and ``high_res`` are
read) and ``{img_dir}/{id}.jpg``. Output: ``{out_dir}/{id}.png``, VOC palette
PNGs with 255 = unsure, written atomically. ``{out_dir}/provenance.json``
records the label kind, the resolved options, the CAM folder's provenance
digest, the image folder and the ids: a rerun with the same record resumes
where it stopped (finished PNGs are kept, partial files are dropped), a folder
of another record is moved aside to ``{out_dir}.old-{time}`` and every PNG is
made afresh.

In a distributed run (a process group exists, e.g. ``tools/run_pipeline.py
--launcher pytorch``) every rank calls these functions: each labels (or pools
the maps of) its share of the ids, rank 0 keeps the folder's record, and the
counts and histograms are summed over the ranks, so every rank returns the
same, and the files are those of a single process.
"""

from __future__ import annotations

import functools
import inspect
import os.path as osp

import numpy as np
from mmengine.dist import get_dist_info
from PIL import Image
from tqdm import tqdm

from ..engine.exporters import atomic_save_label_png
from ..ops.crf import crf_params
from ..ops.seed_labels import (
    cam_seed_labels,
    crf_alpha_seed_labels,
    crf_seed_labels,
    ir_labels,
    psa_labels,
)
from ..ops.thresholds import NUM_BINS, max_score_histogram, thresholds_from_histogram
from ..utils.map_file import load_map_file
from ..utils.provenance import digest_of, input_digest
from .per_image import run_per_image, sum_over_ranks

LABEL_FUNCTIONS = {
    'ir': ir_labels,
    'psa': psa_labels,
    'crf': crf_seed_labels,
    'crf_alpha': crf_alpha_seed_labels,
    'cam': cam_seed_labels,
}


#: How the ``'auto:'`` thresholds are chosen (see :mod:`mmwsss.ops.thresholds`).
THRESHOLD_RULE = (
    'Otsu (bg_score, PSA alpha) and 3-class multi-Otsu (IR fg_thr / bg_thr, PSA '
    'alpha_low / alpha_high) of the pooled per-pixel max class score of the '
    "split's own maps; no ground truth"
)


def load_score_maps(path: str) -> tuple[np.ndarray, np.ndarray]:
    """``keys`` and full-resolution maps of a CAM file (``high_res``, written
    by CAMExporter) or a score-map file (``scores``, ScoreMapExporter), as
    int64 and float32."""
    keys, maps = load_map_file(path)
    for key in ('high_res', 'scores'):
        if key in maps:
            return keys, maps[key]
    raise KeyError(f'{path} holds neither high_res (CAMs) nor scores maps')


def score_dir_thresholds(
    map_dir: str, ids: list[str], progress: bool = True
) -> tuple[dict, np.ndarray]:
    """The ground-truth-free thresholds of a folder of CAM / score-map files.

    Args:
        map_dir (str): Folder of ``{id}.npz`` (CAMExporter or ScoreMapExporter).
        ids (list[str]): The image ids whose maps are pooled.
        progress (bool): Show a progress bar. Default: True.

    Returns:
        tuple[dict, np.ndarray]: The thresholds
        (:func:`~mmwsss.ops.thresholds.thresholds_from_histogram`) and the
        pooled histogram. In a distributed run each rank reads its share of
        the ids and the histograms are summed: every rank returns the same.

    Raises:
        FileNotFoundError: If a file of an id is missing.
    """
    missing = [i for i in ids if not osp.isfile(osp.join(map_dir, i + '.npz'))]
    if missing:
        raise FileNotFoundError(
            f'{len(missing)} of {len(ids)} map files missing in {map_dir}, e.g. '
            f'{missing[:3]}'
        )
    rank, world_size = get_dist_info()
    shard = ids[rank::world_size]
    maps = (
        load_score_maps(osp.join(map_dir, i + '.npz'))[1]
        for i in tqdm(shard, desc='thresholds', disable=not progress or rank > 0)
    )
    if world_size == 1:
        hist = max_score_histogram(maps)
    else:
        # a rank with no ids (more ranks than ids) adds an empty histogram
        own = max_score_histogram(maps) if shard else np.zeros(NUM_BINS, np.int64)
        hist = sum_over_ranks(own)
    return thresholds_from_histogram(hist), hist


def _label_one(
    image_id: str, kind: str, cam_dir: str, img_dir: str, out_dir: str, kwargs: dict
) -> str:
    cam_path = osp.join(cam_dir, image_id + '.npz')
    img_path = osp.join(img_dir, image_id + '.jpg')
    keys, cams = load_score_maps(cam_path)
    image = np.asarray(Image.open(img_path).convert('RGB'))
    if cams.shape[1:] != image.shape[:2]:
        raise ValueError(
            f'CAM size {cams.shape[1:]} of {cam_path} differs from the image size '
            f'{image.shape[:2]} of {img_path}'
        )
    labels = LABEL_FUNCTIONS[kind](image, cams, keys, **kwargs)
    atomic_save_label_png(osp.join(out_dir, image_id + '.png'), labels)
    return image_id


def label_options(kind: str, options: dict) -> dict:
    """The options of a label function as it runs them: its defaults filled in
    and a named ``crf_preset`` replaced by the preset's settings.

    Raises:
        TypeError: If an option is not an argument of the label function.
        KeyError: If the CRF preset is unknown.
    """
    params = list(inspect.signature(LABEL_FUNCTIONS[kind]).parameters.values())
    signature = inspect.Signature(params[3:])  # after image, cams, keys
    try:
        bound = signature.bind(**options)
    except TypeError as err:
        raise TypeError(
            f'{kind} labels take the options {list(signature.parameters)}, got '
            f'{sorted(options)}'
        ) from err
    bound.apply_defaults()
    resolved = dict(bound.arguments)
    if isinstance(resolved.get('crf_preset'), str):
        resolved['crf_preset'] = crf_params(resolved['crf_preset'])
    return resolved


def make_label_dir(
    kind: str,
    cam_dir: str,
    img_dir: str,
    ids: list[str],
    out_dir: str,
    workers: int | None = None,
    progress: bool = True,
    **kwargs,
) -> dict:
    """Turn each image's CAMs into a label PNG with one of the CRF recipes.

    Args:
        kind (str): 'ir' (:func:`~mmwsss.ops.seed_labels.ir_labels`), 'psa'
            (:func:`~mmwsss.ops.seed_labels.psa_labels`), 'crf'
            (:func:`~mmwsss.ops.seed_labels.crf_seed_labels`), 'crf_alpha'
            (:func:`~mmwsss.ops.seed_labels.crf_alpha_seed_labels`) or 'cam'
            (:func:`~mmwsss.ops.seed_labels.cam_seed_labels`, no CRF).
        cam_dir (str): Folder of ``{id}.npz`` CAM files.
        img_dir (str): Folder of ``{id}.jpg`` images.
        ids (list[str]): Image ids to label.
        out_dir (str): Output folder of ``{id}.png``; created if missing.
        workers (int, optional): Worker processes of this rank; 1 labels in
            this process. Default: None, meaning every CPU available to the
            rank (:func:`~mmwsss.pipeline.per_image.cpus_per_rank`). The PNGs
            do not depend on it.
        progress (bool): Show a progress bar. Default: True.
        **kwargs: Passed to the label function (thresholds, ``crf_preset``).

    ``{out_dir}/provenance.json`` records what the labels are made of (kind,
    :func:`label_options`, the provenance digest of ``cam_dir``, ``img_dir``,
    the ids). A folder of the same record is resumed; one of another or no
    record is moved aside to ``{out_dir}.old-{time}`` first (see
    :func:`mmwsss.utils.provenance.check_or_reset`). In a distributed run
    rank ``r`` of ``n`` labels ``ids[r::n]``.

    Returns:
        dict: ``written`` (PNGs made now), ``reused`` (PNGs already there;
        both summed over the ranks),
        ``provenance`` (the record's digest) and ``moved_to`` (where an old
        folder of another record was moved, or None).

    Raises:
        ValueError: If ``kind`` or ``workers`` is invalid.
        TypeError: If an option is not an argument of the label function.
        FileNotFoundError: If ``cam_dir``, or a CAM or image file of a pending
            id, is missing (checked before any work starts).
    """
    if kind not in LABEL_FUNCTIONS:
        raise ValueError(f'kind must be one of {sorted(LABEL_FUNCTIONS)}, got {kind!r}')
    record = dict(
        kind=f'{kind} labels',
        options=label_options(kind, kwargs),
        cams=input_digest(cam_dir),
        img_dir=osp.abspath(img_dir),
        images=input_digest(img_dir),
        ids=digest_of(list(dict.fromkeys(ids))),
        info=dict(cam_dir=osp.abspath(cam_dir), num_ids=len(set(ids))),
    )
    work = functools.partial(
        _label_one,
        kind=kind,
        cam_dir=cam_dir,
        img_dir=img_dir,
        out_dir=out_dir,
        kwargs=kwargs,
    )
    return run_per_image(
        out_dir,
        record,
        ids,
        '.png',
        work,
        lambda i: [osp.join(cam_dir, i + '.npz'), osp.join(img_dir, i + '.jpg')],
        desc=f'{kind} labels',
        workers=workers,
        progress=progress,
    )
