"""Train a model from a config with mmengine's ``Runner``.

Examples:
    Single process::

        python tools/train.py configs/cam/CONFIG.py --work-dir work_dirs/cam

    Several processes (see ``tools/dist_train.sh``)::

        bash tools/dist_train.sh configs/cam/CONFIG.py 2 --amp

    On 8 GPUs with the recipe's learning rate per sample (the lr scaled by
    8 GPUs x batch per GPU over the config's ``auto_scale_lr.base_batch_size``)::

        bash tools/dist_train.sh configs/cam/CONFIG.py 8 --auto-scale-lr
"""

from __future__ import annotations

import argparse
import logging
import os

from mmengine.config import Config, DictAction
from mmengine.logging import print_log

from mmwsss.utils import entrypoint_config, run_runner


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line of the training entry point.

    Args:
        argv (list[str], optional): Arguments without the program name. Default:
            None, meaning ``sys.argv[1:]``.

    Returns:
        argparse.Namespace: ``config``, ``work_dir``, ``resume``, ``amp``,
        ``auto_scale_lr``, ``cfg_options``, ``launcher`` and ``local_rank``.
    """
    parser = argparse.ArgumentParser(description='Train a model with mmengine')
    parser.add_argument('config', help='training config file path')
    parser.add_argument(
        '--work-dir',
        help="directory for logs and checkpoints; default: the config's "
        '`work_dir`, else ./work_dirs/<config file name without .py>',
    )
    parser.add_argument(
        '--resume',
        nargs='?',
        const='auto',
        default=None,
        metavar='CHECKPOINT',
        help='resume training (weights, optimizer, schedulers, iteration): from '
        'CHECKPOINT if given, else from the latest checkpoint in the work dir',
    )
    parser.add_argument(
        '--amp',
        action='store_true',
        help='train with automatic mixed precision (AmpOptimWrapper)',
    )
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the learning rate linearly by the total batch (processes x '
        "batch per process) over the config's auto_scale_lr.base_batch_size, "
        'the batch its recipe was written for',
    )
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config keys, e.g. train_cfg.max_iters=100 '
        'model.backbone.depth=18 or a list as key="[a,b]"; no spaces inside a '
        'value',
    )
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher for distributed training',
    )
    # torch.distributed.launch passes --local-rank (torch >= 2.0) or --local_rank.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def enable_amp(cfg: Config) -> None:
    """Switch the config's optimizer wrapper to ``AmpOptimWrapper``.

    Args:
        cfg (Config): The training config; changed in place.

    Raises:
        ValueError: If the config uses an optimizer wrapper other than
            ``OptimWrapper`` or ``AmpOptimWrapper``.
    """
    wrapper_type = cfg.optim_wrapper.get('type', 'OptimWrapper')
    if wrapper_type == 'AmpOptimWrapper':
        print_log(
            'AMP training is already enabled in the config.',
            logger='current',
            level=logging.WARNING,
        )
        return
    if wrapper_type != 'OptimWrapper':
        raise ValueError(
            '--amp needs optim_wrapper.type == "OptimWrapper" (it becomes '
            f'"AmpOptimWrapper"), but the config has "{wrapper_type}".'
        )
    cfg.optim_wrapper.type = 'AmpOptimWrapper'
    cfg.optim_wrapper.loss_scale = 'dynamic'


def enable_auto_scale_lr(cfg: Config) -> None:
    """Switch on mmengine's linear learning-rate scaling by the total batch.

    Args:
        cfg (Config): The training config; changed in place.

    Raises:
        KeyError: If the config has no ``auto_scale_lr.base_batch_size``.
    """
    if 'base_batch_size' not in cfg.get('auto_scale_lr', {}):
        raise KeyError(
            '--auto-scale-lr needs auto_scale_lr = dict(enable=False, '
            'base_batch_size=N) in the config, N the total batch its learning '
            'rate was set for (16 for 1xb16)'
        )
    cfg.auto_scale_lr.enable = True


def main(argv: list[str] | None = None) -> None:
    """Build a runner from the config and train.

    Args:
        argv (list[str], optional): Arguments without the program name. Default:
            None, meaning ``sys.argv[1:]``.
    """
    args = parse_args(argv)
    cfg = entrypoint_config(args.config, args.launcher, args.cfg_options, args.work_dir)

    if args.amp:
        enable_amp(cfg)
    if args.auto_scale_lr:
        enable_auto_scale_lr(cfg)

    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume

    run_runner(cfg, 'train')


if __name__ == '__main__':
    main()
