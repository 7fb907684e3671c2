"""Run a whole WSSS pipeline (seeds -> refinement -> final net) from one config.

Examples::

    python tools/run_pipeline.py \
        configs/pipelines/cam-irn-deeplabv2_effl0_fashionpaste-demo.py
    python tools/run_pipeline.py CONFIG --from irn        # rerun irn and what follows
    python tools/run_pipeline.py CONFIG --only ir_labels  # rerun one stage
    python tools/run_pipeline.py CONFIG --just cam@3      # run one stage, or
                                # resume it, or skip it if finished and current
    python tools/run_pipeline.py CONFIG --cfg-options stage_options.irn.validate=True
    python tools/run_pipeline.py CONFIG --keep-code cam irn  # after a change
                                # known not to affect those stages (finished
                                # ones kept, an interrupted one resumes)

Several processes (one per GPU; ``work_dir`` and ``data_root`` on a file system
that every node sees)::

    torchrun --nproc_per_node 8 tools/run_pipeline.py CONFIG --launcher pytorch
    srun --ntasks 16 --ntasks-per-node 8 --gres gpu:8 \
        python tools/run_pipeline.py CONFIG --launcher slurm

Finished stages are skipped when nothing they depend on changed (settings,
config content, mmwsss's code, the data, what their inputs' stages wrote),
interrupted ones resume; the report (per-stage
mIoU and time, charts, sample overlays) lands in ``{work_dir}/report``.
"""

from __future__ import annotations

import argparse
import os

from mmengine.config import Config, DictAction
from mmengine.dist import is_main_process

from mmwsss.pipeline import run_pipeline
from mmwsss.pipeline.report import stage_table
from mmwsss.utils import destroy_distributed


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line.

    Args:
        argv (list[str], optional): Arguments without the program name. Default:
            None, meaning ``sys.argv[1:]``.

    Returns:
        argparse.Namespace: ``config``, ``from_stage``, ``only``, ``just``, ``until``,
        ``work_dir``, ``no_report``, ``cfg_options``, ``launcher``,
        ``keep_code`` and ``local_rank``.
    """
    parser = argparse.ArgumentParser(description='Run a WSSS pipeline config')
    parser.add_argument('config', help='pipeline config file')
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        '--from', dest='from_stage', help='rerun this stage and every later one'
    )
    group.add_argument('--only', help='rerun only this stage')
    group.add_argument(
        '--just',
        metavar='STAGE',
        help='run only this stage as a plain run would: skipped when finished '
        'and current, resumed when interrupted (--only starts it afresh)',
    )
    parser.add_argument(
        '--until', help='stop after this stage (the later ones are not run)'
    )
    parser.add_argument('--work-dir', help="override the config's work_dir")
    parser.add_argument(
        '--keep-code',
        nargs='+',
        default=(),
        metavar='STAGE',
        help="keep these stages (or 'all') although mmwsss's code changed "
        'since they ran (for changes known not to affect them; recorded in '
        'their manifests): finished ones are kept, interrupted ones resume',
    )
    parser.add_argument(
        '--no-report', action='store_true', help='do not write the report'
    )
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override pipeline config keys, e.g. data_root=DIR',
    )
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm'],
        default='none',
        help='job launcher: one process (none), torchrun (pytorch) or srun (slurm)',
    )
    # torch.distributed.launch passes --local-rank (torch >= 2.0) or --local_rank.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def main(argv: list[str] | None = None) -> dict:
    """Run the pipeline and print the per-stage table.

    Args:
        argv (list[str], optional): Arguments without the program name.

    Returns:
        dict: Each stage's result, by name.
    """
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir:
        cfg.work_dir = args.work_dir
    results = run_pipeline(
        cfg,
        from_stage=args.from_stage,
        only=args.only,
        just=args.just,
        report=not args.no_report,
        until=args.until,
        launcher=args.launcher,
        keep_code=args.keep_code,
    )
    if is_main_process():
        print('\n'.join(['', *stage_table(results), '']))
        if not args.no_report:
            print(f'report: {cfg.work_dir}/report/report.md')
    destroy_distributed()
    return results


if __name__ == '__main__':
    main()
