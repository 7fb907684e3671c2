"""What ``tools/train.py`` and ``tools/test.py`` share: the config they run and
the runner's life (CPU process group, safe checkpoint loading, clean-up)."""

from __future__ import annotations

import os.path as osp

from mmengine.config import Config
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from .checkpoint import safe_checkpoint_loader
from .distributed import destroy_distributed, setup_cpu_distributed


def entrypoint_config(
    config: str,
    launcher: str = 'none',
    cfg_options: dict | None = None,
    work_dir: str | None = None,
) -> Config:
    """The config an entry point runs: the file, its launcher and overrides.

    The work dir's priority: ``work_dir`` > the config's > ``./work_dirs/{config
    file stem}`` (mmseg's and mmdet's rule).
    """
    cfg = Config.fromfile(config)
    cfg.launcher = launcher
    if cfg_options is not None:
        cfg.merge_from_dict(cfg_options)
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        stem = osp.splitext(osp.basename(config))[0]
        cfg.work_dir = osp.join('./work_dirs', stem)
    return cfg


def run_runner(cfg: Config, method: str) -> None:
    """Build the runner of ``cfg`` and call its ``method`` ('train' / 'test').

    On CPU machines the process group of a distributed launch is gloo (mmengine's
    pytorch launcher assumes CUDA); the Runner's checkpoints, which hold numpy
    and mmengine objects, load under torch's weights-only loader through
    :func:`safe_checkpoint_loader` (for this run only); the process group is
    destroyed afterwards.
    """
    setup_cpu_distributed(cfg)
    with safe_checkpoint_loader():
        if 'runner_type' in cfg:
            runner = RUNNERS.build(cfg)
        else:
            runner = Runner.from_cfg(cfg)
        getattr(runner, method)()
    del runner  # its DDP wrapper holds the process group
    destroy_distributed()


def use_tta(cfg: Config) -> None:
    """Swap in the config's test-time augmentation (mmseg's ``--tta``).

    The test pipeline becomes ``tta_pipeline`` and the model is wrapped by
    ``tta_model``, which merges the augmented views' predictions.

    Args:
        cfg (Config): The test config; changed in place.

    Raises:
        KeyError: If the config has no ``tta_pipeline`` or ``tta_model``.
    """
    missing = [key for key in ('tta_pipeline', 'tta_model') if key not in cfg]
    if missing:
        raise KeyError(f'--tta needs {" and ".join(missing)} in the config')
    cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
    cfg.tta_model.module = cfg.model
    cfg.model = cfg.tta_model
