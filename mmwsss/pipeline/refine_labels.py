"""Write a folder of CRF-refined label PNGs from a folder of CAM files.

Input: the CAM stage's ``{cam_dir}/{id}.npz`` (``keys`` and ``high_res`` are
read) and ``{img_dir}/{id}.jpg``. Output: ``{out_dir}/{id}.png``, VOC palette
PNGs with 255 = unsure, written atomically so that an interrupted run resumes
where it stopped (finished PNGs are kept, partial files are dropped).
"""

from __future__ import annotations

import functools
import glob
import multiprocessing as mp
import os
import os.path as osp
import sys

import numpy as np
from PIL import Image
from tqdm import tqdm

from ..engine.exporters import TMP_SUFFIX, atomic_save_label_png
from ..ops.seed_labels import cam_seed_labels, crf_seed_labels, ir_labels, psa_labels

LABEL_FUNCTIONS = {
    'ir': ir_labels,
    'psa': psa_labels,
    'crf': crf_seed_labels,
    'cam': cam_seed_labels,
}


def _limit_threads() -> None:
    """Pool initializer: one thread per worker process (the pool is the
    parallelism; nested BLAS / torch threads would oversubscribe the cores)."""
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except ImportError:  # pragma: no cover - comes with scikit-learn
        pass
    if 'torch' in sys.modules:
        sys.modules['torch'].set_num_threads(1)


def _label_one(
    image_id: str, kind: str, cam_dir: str, img_dir: str, out_dir: str, kwargs: dict
) -> str:
    cam_path = osp.join(cam_dir, image_id + '.npz')
    img_path = osp.join(img_dir, image_id + '.jpg')
    with np.load(cam_path) as data:
        keys = data['keys']
        cams = data['high_res']
    image = np.asarray(Image.open(img_path).convert('RGB'))
    if cams.shape[1:] != image.shape[:2]:
        raise ValueError(
            f'CAM size {cams.shape[1:]} of {cam_path} differs from the image size '
            f'{image.shape[:2]} of {img_path}'
        )
    labels = LABEL_FUNCTIONS[kind](image, cams, keys, **kwargs)
    atomic_save_label_png(osp.join(out_dir, image_id + '.png'), labels)
    return image_id


def make_label_dir(
    kind: str,
    cam_dir: str,
    img_dir: str,
    ids: list[str],
    out_dir: str,
    workers: int = 2,
    progress: bool = True,
    **kwargs,
) -> dict:
    """Turn each image's CAMs into a label PNG with one of the CRF recipes.

    Args:
        kind (str): 'ir' (:func:`~mmwsss.ops.seed_labels.ir_labels`), 'psa'
            (:func:`~mmwsss.ops.seed_labels.psa_labels`), 'crf'
            (:func:`~mmwsss.ops.seed_labels.crf_seed_labels`) or 'cam'
            (:func:`~mmwsss.ops.seed_labels.cam_seed_labels`, no CRF).
        cam_dir (str): Folder of ``{id}.npz`` CAM files.
        img_dir (str): Folder of ``{id}.jpg`` images.
        ids (list[str]): Image ids to label.
        out_dir (str): Output folder of ``{id}.png``; created if missing.
        workers (int): Worker processes; 1 labels in this process. Default: 2.
        progress (bool): Show a progress bar. Default: True.
        **kwargs: Passed to the label function (thresholds, ``crf_preset``).

    Returns:
        dict: ``written`` (PNGs made now) and ``reused`` (PNGs already there).

    Raises:
        ValueError: If ``kind`` or ``workers`` is invalid.
        FileNotFoundError: If a CAM or image file of a pending id is missing
            (checked before any work starts).
    """
    if kind not in LABEL_FUNCTIONS:
        raise ValueError(f'kind must be one of {sorted(LABEL_FUNCTIONS)}, got {kind!r}')
    if workers < 1:
        raise ValueError(f'workers must be >= 1, got {workers}')
    ids = list(dict.fromkeys(ids))
    os.makedirs(out_dir, exist_ok=True)
    for stale in glob.glob(osp.join(out_dir, '*' + TMP_SUFFIX)):
        os.remove(stale)
    todo = [i for i in ids if not osp.exists(osp.join(out_dir, i + '.png'))]
    for image_id in todo:
        for path in (
            osp.join(cam_dir, image_id + '.npz'),
            osp.join(img_dir, image_id + '.jpg'),
        ):
            if not osp.isfile(path):
                raise FileNotFoundError(f'{path} not found (image id {image_id!r})')

    work = functools.partial(
        _label_one,
        kind=kind,
        cam_dir=cam_dir,
        img_dir=img_dir,
        out_dir=out_dir,
        kwargs=kwargs,
    )
    bar = tqdm(total=len(todo), desc=f'{kind} labels', disable=not progress)
    workers = min(workers, len(todo))
    if workers <= 1:
        for image_id in todo:
            work(image_id)
            bar.update()
    else:
        # fork: workers inherit the imported modules instead of importing mmwsss
        # (seconds) again; they run only numpy / PIL / pydensecrf code.
        methods = mp.get_all_start_methods()
        ctx = mp.get_context('fork' if 'fork' in methods else None)
        with ctx.Pool(workers, initializer=_limit_threads) as pool:
            for _ in pool.imap_unordered(work, todo):
                bar.update()
    bar.close()
    return dict(written=len(todo), reused=len(ids) - len(todo))
