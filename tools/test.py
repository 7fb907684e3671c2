"""Evaluate a checkpoint on a config's test set with mmengine's ``Runner``.

Examples:
    Single process::

        python tools/test.py configs/cam/CONFIG.py work_dirs/cam/iter_8000.pth

    Several processes (see ``tools/dist_test.sh``)::

        bash tools/dist_test.sh configs/cam/CONFIG.py work_dirs/cam/iter_8000.pth 2
"""

from __future__ import annotations

import argparse
import os

from mmengine.config import DictAction

from mmwsss.utils import entrypoint_config, run_runner, use_tta


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line of the test entry point.

    Args:
        argv (list[str], optional): Arguments without the program name. Default:
            None, meaning ``sys.argv[1:]``.

    Returns:
        argparse.Namespace: ``config``, ``checkpoint``, ``work_dir``, ``out``,
        ``tta``, ``cfg_options``, ``launcher`` and ``local_rank``.
    """
    parser = argparse.ArgumentParser(description='Test (and evaluate) a checkpoint')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--work-dir',
        help="directory for logs and the metrics json; default: the config's "
        '`work_dir`, else ./work_dirs/<config file name without .py>',
    )
    parser.add_argument(
        '--out',
        help='directory where the test metrics write their per-image predictions '
        "(sets `output_dir` of every test metric, e.g. mmseg's IoUMetric)",
    )
    parser.add_argument(
        '--tta',
        action='store_true',
        help="test with the config's tta_pipeline and tta_model (multi-scale + "
        'flip; a CRFSegTTAModel adds the dense CRF)',
    )
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config keys, e.g. test_dataloader.batch_size=1 or a list '
        'as key="[a,b]"; no spaces inside a value',
    )
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher for distributed testing',
    )
    # torch.distributed.launch passes --local-rank (torch >= 2.0) or --local_rank.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def set_output_dir(evaluator_cfg: dict | list, out_dir: str) -> None:
    """Set ``output_dir`` on every metric of a test evaluator config.

    Args:
        evaluator_cfg (dict | list): ``test_evaluator``: one metric config or a
            list of them; changed in place.
        out_dir (str): Directory for the metrics' prediction files.

    Raises:
        TypeError: If ``evaluator_cfg`` is neither a dict nor a list of dicts.
    """
    metrics = evaluator_cfg if isinstance(evaluator_cfg, list) else [evaluator_cfg]
    for metric in metrics:
        if not isinstance(metric, dict):
            raise TypeError(
                'test_evaluator must be a metric config dict or a list of them to '
                f'use --out, got {type(metric).__name__}: {metric!r}'
            )
        metric['output_dir'] = out_dir


def main(argv: list[str] | None = None) -> None:
    """Build a runner from the config, load the checkpoint and test.

    Args:
        argv (list[str], optional): Arguments without the program name. Default:
            None, meaning ``sys.argv[1:]``.
    """
    args = parse_args(argv)
    cfg = entrypoint_config(args.config, args.launcher, args.cfg_options, args.work_dir)

    cfg.load_from = args.checkpoint
    cfg.resume = False
    if args.tta:
        use_tta(cfg)
    if args.out is not None:
        set_output_dir(cfg.test_evaluator, args.out)

    run_runner(cfg, 'test')


if __name__ == '__main__':
    main()
