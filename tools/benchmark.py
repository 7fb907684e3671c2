"""Regenerate BENCHMARKS.md from runs of the bench pipelines.

    python tools/benchmark.py                   # run the bench pipeline, render
    python tools/benchmark.py --bench seeds     # another bench pipeline
    python tools/benchmark.py --seed 1          # the same on another generator seed
    python tools/benchmark.py --render-only     # rewrite BENCHMARKS.md from the JSON
    python tools/benchmark.py --samples-only    # redraw the sample picture from
                                                # the JSON and the work dir

One orchestrator: this script runs a bench pipeline config through the stage
runner, exactly as ``tools/run_pipeline.py`` does, and writes its results file:
the stage manifests and the config's ``benchmark`` declaration, what
BENCHMARKS.md shows of them. BENCHMARKS.md is rendered from the results files
alone; every number in it is a stage's recorded result, never typed in, and
every row, title and note is the pipeline's: this script names no stage
(``tools/benchmark_render.py`` interprets the declarations and documents their
format). Finished stages of an earlier run with the same settings are reused
(the stage runner's provenance rules), so an interrupted benchmark continues.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import os.path as osp
import subprocess
import sys
import time
from types import ModuleType

from mmengine.config import Config

#: The benchmarks: pipeline config and results file of each. They share one
#: work dir, so their common stages run once for all; BENCHMARKS.md is the
#: first one's document, the others' sections placed by its ``bench`` blocks.
BENCHES = {
    'semantic': dict(
        pipeline='configs/pipelines/cam-irn-deeplabv2_effl0_fashionpaste-bench.py',
        results='benchmarks/results.json',
    ),
    'instances': dict(
        pipeline='configs/pipelines/instances_effl0_fashionpaste-bench.py',
        results='benchmarks/results_instances.json',
    ),
    'seeds': dict(
        pipeline='configs/pipelines/seeds_effl0_fashionpaste-bench.py',
        results='benchmarks/results_seeds.json',
    ),
}
MAIN = next(iter(BENCHES))
#: The previous bench set's results (the same file names), shown beside the
#: tables' ``previous`` cells, and their column title.
PREVIOUS = dict(dir='benchmarks/v1', title='old bench (v1: 160 px, stride 16)')
#: Train images in the sample pictures.
NUM_SAMPLES = 4


def _load_renderer() -> ModuleType:
    """tools/benchmark_render.py, loaded from beside this file (tools/ is no
    package)."""
    path = osp.join(osp.dirname(osp.abspath(__file__)), 'benchmark_render.py')
    spec = importlib.util.spec_from_file_location('benchmark_render', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


renderer = _load_renderer()
samples_path = renderer.samples_path


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line (see the module doc); ``pipeline`` and ``results``
    default to the chosen bench's."""
    parser = argparse.ArgumentParser(description='regenerate BENCHMARKS.md')
    parser.add_argument(
        '--bench',
        default=MAIN,
        choices=sorted(BENCHES),
        help=f'which benchmark pipeline to run (default {MAIN}); BENCHMARKS.md '
        'shows every benchmark whose results file exists',
    )
    parser.add_argument('--pipeline', help="pipeline config (default: the bench's)")
    parser.add_argument(
        '--seed',
        type=int,
        default=0,
        help='FashionPaste generator seed (default 0); N != 0 runs only the '
        "pipeline's `spread` stages (the main chain), training at seed N too, "
        'into -seedN folders and the results file *_seedN.json, which '
        'BENCHMARKS.md shows as the spread of those numbers',
    )
    parser.add_argument(
        '--source',
        default='auto',
        choices=['auto', 'debian', 'subset'],
        help='Fashion-MNIST source of the generator (default auto)',
    )
    parser.add_argument(
        '--work-dir', help="default: the pipeline's work_dir (-seed{N} if N != 0)"
    )
    parser.add_argument('--results', help="results JSON (default: the bench's)")
    parser.add_argument('--out', default='BENCHMARKS.md')
    parser.add_argument(
        '--render-only', action='store_true', help='only rewrite the Markdown from JSON'
    )
    parser.add_argument(
        '--samples-only',
        action='store_true',
        help="run nothing: redraw the bench's sample picture from its results "
        'JSON and the work dir it names, then render',
    )
    parser.add_argument(
        '--collect',
        action='store_true',
        help='run nothing: collect the finished stages of the pipeline work dir '
        '(e.g. of an interrupted run) into the JSON and render it; it refuses '
        'to drop a finished stage that the JSON holds and the work dir lacks '
        '(e.g. on a new machine) unless --replace is given',
    )
    kept = parser.add_mutually_exclusive_group()
    kept.add_argument(
        '--replace',
        action='store_true',
        help='write the JSON even where it drops finished stages of the one there',
    )
    kept.add_argument(
        '--merge',
        action='store_true',
        help="keep the JSON's finished stages that the work dir lacks (a unit "
        'of the bench run in an earlier session on another machine), each '
        'checked against this work dir by content as the runner would: one '
        'made from another run of a stage rerun here (or from other images, '
        'config or code; --keep-code accepts code) is kept with its reasons, '
        'which BENCHMARKS.md prints',
    )
    group = parser.add_mutually_exclusive_group()
    group.add_argument('--from', dest='from_stage', help='rerun from this stage')
    group.add_argument('--only', help='rerun only this stage')
    group.add_argument(
        '--just',
        metavar='STAGE',
        help='run only this stage as a plain run would: skipped when finished '
        'and current, resumed when interrupted (--only starts it afresh)',
    )
    parser.add_argument(
        '--until', help='stop after this stage (render what has finished)'
    )
    parser.add_argument(
        '--keep-code',
        nargs='+',
        default=(),
        metavar='STAGE',
        help="as tools/run_pipeline.py's: keep these stages (or 'all') although "
        "mmwsss's code changed since they ran (finished ones are kept, "
        'interrupted ones resume; recorded in their manifests)',
    )
    args = parser.parse_args(argv)
    args.pipeline = args.pipeline or BENCHES[args.bench]['pipeline']
    results = BENCHES[args.bench]['results']
    if args.seed != 0:
        results = seed_results(results, args.seed)
    args.results = args.results or results
    return args


def seed_results(results: str, seed: int) -> str:
    """The results file of a bench's spread run at ``seed``."""
    stem, ext = osp.splitext(results)
    return f'{stem}_seed{seed}{ext}'


def machine_info() -> dict:
    """The machine (``mmwsss.utils.machine.machine_info``), the commit and the
    date of this run or collect."""
    from mmwsss.utils.machine import machine_info as info

    try:
        commit = subprocess.run(
            ['git', 'rev-parse', '--short', 'HEAD'], capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        commit = ''
    return dict(info(), commit=commit, date=time.strftime('%Y-%m-%d'))


def pipeline_config(args: argparse.Namespace) -> Config:
    """The pipeline config with the generator ``--seed`` / ``--source``; at a
    seed other than 0, only its ``spread`` stages, the training ones seeded
    with it too."""
    cfg = Config.fromfile(args.pipeline)
    if args.seed != 0:
        cfg = spread_config(cfg, args.seed)
    options = dict(cfg.get('stage_options') or {})
    data = [s for s in cfg.stages if s['type'] == 'FashionPaste']
    if data:
        name = data[0]['name']
        options[name] = dict(options.get(name, {}), seed=args.seed, source=args.source)
        cfg.stage_options = options
    if args.seed != 0:
        cfg.data_root = f'{cfg.data_root}-seed{args.seed}'
        cfg.work_dir = f'{cfg.work_dir}-seed{args.seed}'
    if args.work_dir:
        cfg.work_dir = args.work_dir
    return cfg


def spread_config(cfg: Config, seed: int) -> Config:
    """``cfg`` reduced to its ``spread`` stages, each training stage's config
    seeded with ``seed`` (``randomness.seed``).

    Raises:
        KeyError: The pipeline declares no ``spread``.
        ValueError: Its ``repeat`` reruns a spread stage at ``seed`` too:
            both would join the render as ``{name}@{seed}``.
    """
    from mmwsss.pipeline.repeat import seeded

    if 'spread' not in cfg:
        raise KeyError(
            f'{cfg.filename} declares no `spread` (the stages run at other seeds)'
        )
    wanted = set(cfg.spread['stages'])
    repeat = cfg.get('repeat') or {}
    both = sorted(wanted & set(repeat.get('stages', ())))
    if seed in repeat.get('seeds', ()) and both:
        raise ValueError(
            f'{cfg.filename} repeats {both} at training seed {seed} on the '
            f'same images (`repeat`) and runs them at seed {seed} as its spread: '
            f'both would be {both[0]}@{seed}; give them different seeds'
        )
    cfg.stages = [seeded(dict(s), seed) for s in cfg.stages if s['name'] in wanted]
    cfg.pop('repeat', None)
    return cfg


def collect(cfg: Config) -> dict[str, dict]:
    """The finished stages' manifests in the pipeline's work dir, in order."""
    from mmwsss.pipeline import MANIFEST, pipeline_stages
    from mmwsss.pipeline.iteration_time import checkpoint_times

    stages = {}
    for stage in pipeline_stages(cfg):
        path = osp.join(cfg.work_dir, stage['name'], MANIFEST)
        if osp.exists(path):
            with open(path) as f:
                manifest = json.load(f)
            if not manifest.get('finished'):
                continue
            if manifest.get('train_s') and 'iterations' not in manifest:
                # a manifest that predates the iteration times: its last
                # checkpoint's message hub holds them
                times = checkpoint_times(osp.dirname(path))
                if times:
                    manifest['iterations'] = times
            stages[stage['name']] = manifest
    return stages


def dropped_stages(new: dict, path: str) -> list[str]:
    """The finished stages of the results file ``path`` (if any) that the
    results ``new`` lack: what writing ``new`` over it would lose."""
    try:
        with open(path) as f:
            old = json.load(f)
    except FileNotFoundError:
        return []
    return [
        name
        for name, stage in old.get('stages', {}).items()
        if stage.get('finished') and name not in new['stages']
    ]


def merged_stages(args: argparse.Namespace, results: dict) -> dict[str, dict]:
    """``results``' stages with the finished ones of the results file
    ``args.results`` that they lack (``mmwsss.pipeline.merge``)."""
    from mmwsss.pipeline.merge import merge_stages

    try:
        with open(args.results) as f:
            old = json.load(f)
    except FileNotFoundError:
        return results['stages']
    return merge_stages(
        pipeline_config(args),
        results['stages'],
        old.get('stages', {}),
        origin=old.get('machine'),
        keep_code=args.keep_code,
    )


def run(args: argparse.Namespace) -> dict:
    """Run the pipeline (with ``--collect``, only read its finished stages)
    and gather its results file: the manifests, the dataset's class names, the
    machine and the pipeline's ``benchmark`` declaration."""
    from mmwsss.datasets import dataset_classes
    from mmwsss.pipeline import pipeline_stages

    cfg = pipeline_config(args)
    if 'benchmark' not in cfg:
        raise KeyError(f'{args.pipeline} has no `benchmark`: what BENCHMARKS.md shows')
    if args.collect:
        stages = collect(cfg)
    else:
        from mmwsss.pipeline import run_pipeline

        stages = run_pipeline(
            cfg,
            from_stage=args.from_stage,
            only=args.only,
            just=args.just,
            until=args.until,
            keep_code=args.keep_code,
        )
    return dict(
        pipeline=args.pipeline,
        seed=args.seed,
        source=args.source,
        work_dir=cfg.work_dir,
        stages={k: v for k, v in stages.items() if v},
        planned=[stage['name'] for stage in pipeline_stages(cfg)],
        machine=machine_info(),
        command=f'python tools/benchmark.py --bench {args.bench} --seed {args.seed} '
        f'--source {args.source}',
        classes=dataset_classes(cfg.data_root),
        benchmark=cfg.benchmark.to_dict(),
    )


# ---------------------------------------------------------------- pictures


def write_curve(results: dict, out: str) -> str | None:
    """Plot the val mIoU curves of the stages the declaration's ``curve``
    names, where they have one; returns ``out``, or None without a curve."""
    curves = {
        name: results['stages'][name]['val_curve']
        for name in results['benchmark'].get('curve', {}).get('stages', [])
        if (results['stages'].get(name) or {}).get('val_curve')
    }
    if not curves:
        return None
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.2), dpi=100)
    for name, curve in curves.items():
        steps = [p['step'] for p in curve]
        ax.plot(steps, [p['mIoU'] for p in curve], marker='o', label=name)
    ax.set_xlabel('iteration')
    ax.set_ylabel('val mIoU')
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
    return out


def write_samples(results: dict, data_root: str, out: str) -> str | None:
    """The benchmark's sample picture: the first train images, their ground
    truth and the outputs (label maps, or instances with ``labels=False``) of
    the finished stages the declaration's ``samples`` names, ``context`` ones
    read but not shown; returns ``out``, or None with nothing to show."""
    from mmwsss.datasets import split_ids
    from mmwsss.pipeline.report import write_sample_grid

    samples = results['benchmark'].get('samples', {})
    done = results['stages']
    names = [*samples.get('context', []), *samples.get('stages', [])]
    stages = {n: done[n] for n in names if (done.get(n) or {}).get('finished')}
    if not set(stages) - set(samples.get('context', [])):
        return None
    ids = split_ids(data_root, 'train')[:NUM_SAMPLES]
    write_sample_grid(
        stages, data_root, results['work_dir'], ids, out, labels=samples['labels']
    )
    return out


def render(results: dict, root: str = '.', others: dict | None = None) -> str:
    """BENCHMARKS.md's text (:func:`benchmark_render.render`).

    Args:
        results (dict): The main benchmark's results file.
        root (str): The folder that holds benchmarks/ (its pictures).
        others (dict, optional): The other benchmarks' results files that
            exist, by name.

    Returns:
        str: The Markdown.
    """
    others = others or {}
    benches = {name: others.get(name) for name in BENCHES}
    return renderer.render(
        {**benches, MAIN: results},
        root,
        previous=load_previous(root),
        previous_title=PREVIOUS['title'],
    )


def load_previous(root: str = '.') -> dict[str, dict]:
    """The previous bench set's results files that exist, by benchmark."""
    found = {}
    for name, bench in BENCHES.items():
        path = osp.join(root, PREVIOUS['dir'], osp.basename(bench['results']))
        if osp.exists(path):
            with open(path) as f:
                found[name] = json.load(f)
    return found


def load_results(root: str = '.') -> tuple[dict, dict]:
    """The main benchmark's results and the others that exist, by name; a
    bench's spread runs (``*_seedN.json``) join its stages as ``{name}@N``,
    which BENCHMARKS.md shows as mean ± sd."""
    import glob

    found = {}
    for name, bench in BENCHES.items():
        path = osp.join(root, bench['results'])
        if osp.exists(path):
            with open(path) as f:
                found[name] = json.load(f)
            stem, ext = osp.splitext(path)
            for seed_path in sorted(glob.glob(f'{stem}_seed*{ext}')):
                seed = seed_path[len(stem) + len('_seed') : -len(ext)]
                if not seed.isdigit():
                    continue
                with open(seed_path) as f:
                    spread = json.load(f)
                for stage, manifest in spread['stages'].items():
                    key = f'{stage}@{seed}'
                    if key in found[name]['stages']:
                        # a repeat at a training seed of the main run's own
                        # set: one of the two runs would be lost or mixed
                        raise ValueError(
                            f'{seed_path} holds {stage!r}, which joins as '
                            f'{key!r}, but {path} has a stage of that name '
                            f'(a repeat at training seed {seed}): give the '
                            "pipeline's spread and repeat different seeds"
                        )
                    found[name]['stages'][key] = manifest
            if 'benchmark' not in found[name]:
                raise KeyError(
                    f'{path} has no `benchmark` (what BENCHMARKS.md shows): '
                    f'python tools/benchmark.py --bench {name} --collect'
                )
    if MAIN not in found:
        raise FileNotFoundError(
            f"no {BENCHES[MAIN]['results']}: run `python tools/benchmark.py` first"
        )
    return found.pop(MAIN), found


def main(argv: list[str] | None = None) -> None:
    """Run (or collect, or redraw) the chosen bench, then render BENCHMARKS.md."""
    args = parse_args(argv)
    if args.samples_only:
        with open(args.results) as f:
            results = json.load(f)
        data_root = pipeline_config(args).data_root
        write_samples(results, data_root, samples_path(args.bench))
    elif not args.render_only:
        results = run(args)
        if args.collect:
            # what a config or input change since a stage ran left behind
            from mmwsss.pipeline.merge import outdated_stages

            results['stages'] = outdated_stages(
                pipeline_config(args), results['stages'], args.keep_code
            )
        if args.merge:
            results['stages'] = merged_stages(args, results)
        lost = dropped_stages(results, args.results)
        if lost and not args.replace:
            raise SystemExit(
                f'{args.results} holds finished stages that {results["work_dir"]} '
                f'lacks: {", ".join(lost)} (a work dir on another machine, or '
                'removed?); not overwritten. Run those stages again, pass '
                '--merge to keep them (checked against this work dir), or '
                '--replace to drop them.'
            )
        os.makedirs(osp.dirname(args.results) or '.', exist_ok=True)
        with open(args.results, 'w') as f:
            json.dump(results, f, indent=1)
        if args.seed == 0:
            # the pictures are of the bench's own run, not of its spread's
            if 'curve' in results['benchmark']:
                curve = results['benchmark']['curve']['file']
                write_curve(results, osp.join(osp.dirname(args.results), curve))
            data_root = pipeline_config(args).data_root
            write_samples(results, data_root, samples_path(args.bench))
    main_results, others = load_results()
    with open(args.out, 'w') as f:
        f.write(render(main_results, others=others))
    print(f'wrote {args.out} from {sorted([MAIN, *others])}', file=sys.stderr)


if __name__ == '__main__':
    main()
