"""The CAM stage as one call: train the classifier, export seeds, score them.

Used by ``tools/demo.py`` and ``tools/benchmark.py``. The stage writes a
manifest (``cam_stage.json``) into its work dir; a finished stage with the same
config is not run again.
"""

from __future__ import annotations

import hashlib
import json
import os
import os.path as osp
import time

import numpy as np
from mmengine.config import Config
from mmengine.runner import Runner
from PIL import Image

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


def _set_data_root(cfg: Config, data_root: str) -> None:
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[name].dataset.data_root = data_root


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
        ``seed_dir`` and ``finished``.
    """
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if data_root is not None:
        _set_data_root(cfg, data_root)
    cfg.work_dir = work_dir
    # validate once, after training, instead of inside the training loop
    cfg.train_cfg.val_interval = cfg.train_cfg.max_epochs + 1
    digest = hashlib.sha256(cfg.pretty_text.encode()).hexdigest()[:16]
    manifest_path = osp.join(work_dir, MANIFEST)
    if osp.exists(manifest_path):
        with open(manifest_path) as f:
            manifest = json.load(f)
        if manifest.get('finished') and manifest.get('config_digest') == digest:
            manifest['skipped'] = True
            return manifest

    os.makedirs(work_dir, exist_ok=True)
    cfg.resume = True  # an interrupted training continues from its last epoch
    runner = Runner.from_cfg(cfg)
    start = time.perf_counter()
    runner.train()
    train_s = time.perf_counter() - start
    val_metrics = runner.val()
    start = time.perf_counter()
    test_metrics = runner.test()
    export_s = time.perf_counter() - start
    dataset = runner.test_dataloader.dataset
    manifest = dict(
        config=config,
        config_digest=digest,
        data_root=data_root,
        val={k: float(v) for k, v in val_metrics.items()},
        test={k: float(v) for k, v in test_metrics.items()},
        train_s=round(train_s, 1),
        export_s=round(export_s, 1),
        num_images=len(dataset),
        export_images_per_s=round(len(dataset) / export_s, 2),
        seed_dir=runner.test_loop.exporter.out_dir,
        finished=True,
    )
    tmp = manifest_path + '.part'
    with open(tmp, 'w') as f:
        json.dump(manifest, f, indent=1)
    os.replace(tmp, manifest_path)
    manifest['skipped'] = False
    return manifest
