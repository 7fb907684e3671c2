"""The CAM stage as one call: train the classifier, export seeds, score them.

Used by ``tools/demo.py`` and ``tools/benchmark.py``. The stage writes a
manifest (``cam_stage.json``) into its work dir; a finished stage with the same
config is not run again (see :func:`run_train_test_stage`).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from .runner_stage import run_train_test_stage

MANIFEST = 'cam_stage.json'


def all_background_miou(seg_paths: list[str], num_classes: int) -> float:
    """mIoU (%) of predicting background everywhere, the floor a seed must beat.

    Background IoU is its pixel share; every present foreground class scores 0.
    """
    bg = total = 0
    present = np.zeros(num_classes, dtype=bool)
    for path in seg_paths:
        mask = np.asarray(Image.open(path))
        valid = mask != 255
        total += int(valid.sum())
        bg += int((mask[valid] == 0).sum())
        present[np.unique(mask[valid])] = True
    present[0] = True
    return 100.0 * (bg / max(total, 1)) / int(present.sum())


def run_cam_stage(
    config: str,
    work_dir: str,
    data_root: str | None = None,
    cfg_options: dict | None = None,
) -> dict:
    """Train a CAM classifier, evaluate it on val, export and score its seeds.

    Args:
        config (str): Classifier config (e.g. ``configs/cam/...``).
        work_dir (str): Work dir of the stage.
        data_root (str, optional): Dataset root for all three dataloaders.
            Default: None (the config's).
        cfg_options (dict, optional): Extra config overrides. Default: None.

    Returns:
        dict: ``val`` (classification metrics), ``test`` (seed metrics),
        ``train_s``, ``export_s``, ``export_images_per_s``, ``num_images``,
        ``seed_dir``, ``finished`` and ``skipped``.
    """
    result = run_train_test_stage(
        config, work_dir, data_root, cfg_options, manifest=MANIFEST, validate=True
    )
    result['seed_dir'] = result.get('seed_dir') or result['out_dir']
    return result
