"""Scale check on CPU: peak memory and time of the CAM export, the
``Thresholds`` stage and ``Labels`` stages against the number of images.

    python tools/analysis_tools/scale_check.py --images 2000 6000 20000

For each image count N a FashionPaste set of N small train images (64 x 64,
the ``'tiny'`` preset's scenes; 4 val images) is generated, then the steps
run one after another on it, each in a fresh process of this script
(``--step``), so that the peak resident memory is the step's own
(``os.wait4``'s ``ru_maxrss``: the largest single process of the step and of
the processes it waited for, e.g. a label stage's workers):

- ``generate``: :func:`~mmwsss.datasets.fashionpaste.generate_fashionpaste`
  with an N-image preset (added to ``PRESETS`` in that process only);
- ``export``: a ``Predict`` stage, the demo CAM config's test (export) loop
  (``configs/cam/cam_effl0_1xb16-8e_fashionpaste-160.py``) with untrained
  weights (the backbone's ImageNet weights its package ships, a random head:
  the check is about memory and time, not quality), single scale without
  flip, no dataloader workers; it writes the compact CAM files and scores the
  seeds (``SeedIoUMetric``) as a pipeline's ``cam`` stage does;
- ``thresholds``: the ``Thresholds`` stage on those CAMs;
- ``cam_labels`` / ``crf_labels``: ``Labels`` stages (kind ``'cam'`` and
  ``'crf'``) at the thresholds' background score, scored against the masks.

Each step runs through :func:`mmwsss.pipeline.runner.run_stage` (the stage's
results are kept in ``{work_dir}/n{N}/results.json`` for the next step).
Records ``images, step, seconds`` (the step's own work, from inside its
process), ``wall_s`` (the process, imports included), ``images_per_s`` and
``peak_rss_mb``, with the machine (CPU count, torch threads: ``--threads``,
1 by default, as a machine shared with other jobs needs), in ``--out``
(default ``benchmarks/scale_check.json``): a record of the same
``(images, step)`` is replaced, so sizes can be run one at a time.
"""

from __future__ import annotations

import argparse
import json
import os
import os.path as osp
import platform
import shutil
import subprocess
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CAM_CONFIG = 'configs/cam/cam_effl0_1xb16-8e_fashionpaste-160.py'  # under ROOT
STEPS = ('generate', 'export', 'thresholds', 'cam_labels', 'crf_labels')
#: The generated scenes: generator 1.0's 'tiny' preset at N train images.
SCENE = dict(image_size=64, scale_range=(1.0, 2.0), min_visible_pixels=40)
NUM_VAL = 4


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--images', type=int, nargs='+', default=[2000, 6000, 20000])
    parser.add_argument('--steps', nargs='+', default=list(STEPS), choices=STEPS)
    parser.add_argument('--work-dir', default='work_dirs/scale_check')
    parser.add_argument('--out', default='benchmarks/scale_check.json')
    parser.add_argument(
        '--workers',
        type=int,
        default=None,
        help="label stages' worker processes (default: every CPU)",
    )
    parser.add_argument(
        '--threads',
        type=int,
        default=1,
        help='torch threads of each step (default 1: on a machine shared with '
        'other jobs, more threads than free cores slow torch down many times)',
    )
    parser.add_argument(
        '--keep', action='store_true', help="keep each size's folder afterwards"
    )
    parser.add_argument(
        '--in-process',
        action='store_true',
        help='run the steps in this process (a quick check of the tool): '
        "peak_rss_mb is then this process's peak so far, not each step's",
    )
    parser.add_argument('--step', choices=STEPS, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def size_dir(work_dir: str, images: int) -> str:
    return osp.join(work_dir, f'n{images}')


def _results_path(work: str) -> str:
    return osp.join(work, 'results.json')


def _stage(name: str, workers: int | None) -> dict:
    """The pipeline stage dict of step ``name``."""
    if name == 'export':
        return dict(
            name='export',
            type='Predict',
            config=osp.join(ROOT, CAM_CONFIG),
            checkpoint='init',
            cfg_options={
                'model.test_cfg.scales': (1.0,),
                'model.test_cfg.flip': False,
                'model.backbone.pretrained': False,  # the checkpoint has them
                'test_dataloader.num_workers': 0,
                'test_dataloader.persistent_workers': False,
            },
        )
    if name == 'thresholds':
        return dict(name='thresholds', type='Thresholds', cams='export')
    kind = name.split('_')[0]
    return dict(
        name=name,
        type='Labels',
        kind=kind,
        cams='export',
        thresholds='thresholds',
        label_options=dict(bg_score='auto:bg_score'),
        workers=workers,
    )


def _init_checkpoint(path: str) -> None:
    """The CAM classifier's untrained weights (ImageNet backbone)."""
    import torch
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import mmwsss  # noqa: F401  (registers the components)
    from mmwsss.registry import MODELS

    init_default_scope('mmwsss')
    model = MODELS.build(Config.fromfile(osp.join(ROOT, CAM_CONFIG)).model)
    if hasattr(model, 'init_weights'):
        model.init_weights()
    torch.save(dict(state_dict=model.state_dict(), meta={}), path)


def run_step(step: str, images: int, work_dir: str, workers=None) -> dict:
    """Run one step on the N-image set (in this process): its seconds."""
    work = size_dir(work_dir, images)
    data_root = osp.join(work, 'data')
    if step == 'generate':
        from mmwsss.datasets import fashionpaste

        size = f'scale-{images}'
        fashionpaste.PRESETS[size] = dict(num_train=images, num_val=NUM_VAL, **SCENE)
        start = time.perf_counter()
        fashionpaste.generate_fashionpaste(
            data_root, size=size, seed=0, progress=False, overwrite=True
        )
        return dict(seconds=time.perf_counter() - start)

    from mmwsss.pipeline.context import PipelineContext
    from mmwsss.pipeline.runner import run_stage

    results = {}
    if osp.isfile(_results_path(work)):
        with open(_results_path(work)) as f:
            results = json.load(f)
    if step == 'export':
        ckpt = osp.join(work, 'init.pth')
        if not osp.isfile(ckpt):
            _init_checkpoint(ckpt)
        results['init'] = dict(finished=True, checkpoint=osp.abspath(ckpt))
        if osp.isdir(osp.join(work, 'export')):
            shutil.rmtree(osp.join(work, 'export'))
    ctx = PipelineContext(data_root, work)
    ctx.results = results
    os.makedirs(ctx.stage_dir(step), exist_ok=True)
    start = time.perf_counter()
    result = run_stage(ctx, _stage(step, workers))
    seconds = time.perf_counter() - start
    result['finished'] = True
    results[step] = result
    with open(_results_path(work), 'w') as f:
        json.dump(results, f, indent=1, default=str)
    return dict(seconds=seconds)


def _record(step: str, images: int, seconds: float, wall: float, rss_kib) -> dict:
    return dict(
        images=images,
        step=step,
        seconds=round(seconds, 2),
        wall_s=round(wall, 2),
        images_per_s=round(images / seconds, 1),
        peak_rss_mb=round(rss_kib / 1024, 1),  # Linux: ru_maxrss in KiB
    )


def measure(step: str, images: int, args) -> dict:
    """Run ``step`` in a fresh process (or, ``--in-process``, in this one):
    its record."""
    if args.in_process:
        import resource

        start = time.perf_counter()
        timing = run_step(step, images, args.work_dir, args.workers)
        wall = time.perf_counter() - start
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return _record(step, images, timing['seconds'], wall, rss)
    info = osp.join(size_dir(args.work_dir, images), f'{step}.time.json')
    os.makedirs(osp.dirname(info), exist_ok=True)
    cmd = [sys.executable, osp.abspath(__file__), '--step', step]
    cmd += ['--images', str(images), '--work-dir', args.work_dir]
    cmd += ['--threads', str(args.threads)]
    if args.workers is not None:
        cmd += ['--workers', str(args.workers)]
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f'step {step} on {images} images failed: {cmd}')
    with open(info) as f:
        seconds = json.load(f)['seconds']
    return _record(step, images, seconds, wall, usage.ru_maxrss)


def machine(threads: int) -> dict:
    import torch

    return dict(
        cpu_count=os.cpu_count(),
        cpus_available=len(os.sched_getaffinity(0)),
        torch_threads=threads,
        torch=torch.__version__,
        python=platform.python_version(),
        processor=platform.processor() or platform.machine(),
    )


def save(out: str, records: list[dict], threads: int = 1) -> dict:
    """Merge ``records`` into ``out`` (same images and step: replaced)."""
    old = []
    if osp.isfile(out):
        with open(out) as f:
            old = json.load(f).get('records', [])
    merged = {(r['images'], r['step']): r for r in old}
    merged.update({(r['images'], r['step']): r for r in records})
    order = {step: i for i, step in enumerate(STEPS)}
    rows = sorted(merged.values(), key=lambda r: (r['images'], order[r['step']]))
    data = dict(
        what='Peak memory and time per step against the number of images '
        '(FashionPaste, 64 x 64 px; CAM export single scale, no flip, untrained '
        'classifier; each step a fresh process)',
        config=CAM_CONFIG,
        image_size=SCENE['image_size'],
        machine=machine(threads),
        records=rows,
    )
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    with open(out, 'w') as f:
        json.dump(data, f, indent=1)
    return data


def main(argv=None) -> dict | None:
    args = parse_args(argv)
    if args.step is not None:  # a child: one step on one size
        import torch

        torch.set_num_threads(args.threads)
        (images,) = args.images
        timing = run_step(args.step, images, args.work_dir, args.workers)
        path = osp.join(size_dir(args.work_dir, images), f'{args.step}.time.json')
        with open(path, 'w') as f:
            json.dump(timing, f)
        return None
    if args.in_process:
        import torch

        threads = torch.get_num_threads()
        torch.set_num_threads(args.threads)
        try:
            return _run_sizes(args)
        finally:  # the caller's setting back
            torch.set_num_threads(threads)
    return _run_sizes(args)


def _run_sizes(args) -> dict | None:
    data = None
    for images in sorted(args.images):
        records = []
        for step in args.steps:
            record = measure(step, images, args)
            print(json.dumps(record), flush=True)
            records.append(record)
            data = save(args.out, records, args.threads)  # each record when in
        if not args.keep:
            shutil.rmtree(size_dir(args.work_dir, images), ignore_errors=True)
    return data


if __name__ == '__main__':
    main()
