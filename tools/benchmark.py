"""Regenerate BENCHMARKS.md from a run of the benchmark pipeline.

    python tools/benchmark.py                   # run the bench pipeline, render
    python tools/benchmark.py --seed 1          # the same on another generator seed
    python tools/benchmark.py --render-only     # rewrite BENCHMARKS.md from the JSON
    python tools/benchmark.py --samples-only    # redraw the sample picture from
                                                # the JSON and the work dir

One orchestrator: this script runs the pipeline config
(``configs/pipelines/cam-irn-deeplabv2_effl0_fashionpaste-bench.py``) through
the stage runner, exactly as ``tools/run_pipeline.py`` does, copies the stage
manifests into ``benchmarks/results.json`` and renders BENCHMARKS.md from that
file; every number in the Markdown is a stage's recorded result, never typed in.
Finished stages of an earlier run with the same settings are reused (the stage
runner's provenance rules), so an interrupted benchmark continues.
"""

from __future__ import annotations

import argparse
import json
import os
import os.path as osp
import platform
import subprocess
import sys
import time

import torch
from mmengine.config import Config

PIPELINE = 'configs/pipelines/cam-irn-deeplabv2_effl0_fashionpaste-bench.py'
#: The benchmarks: pipeline config and results file of each. They share the
#: semantic pipeline's work dir, so stages of the same name and settings
#: (data, cam, irn, ...) run once for all.
BENCHES = {
    'semantic': dict(pipeline=PIPELINE, results='benchmarks/results.json'),
    'instances': dict(
        pipeline='configs/pipelines/instances_effl0_fashionpaste-bench.py',
        results='benchmarks/results_instances.json',
    ),
    'seeds': dict(
        pipeline='configs/pipelines/seeds_effl0_fashionpaste-bench.py',
        results='benchmarks/results_seeds.json',
    ),
}
PUBLISHED = {
    'cam': 'CAM R50: 48.3 (IRN paper, VOC train, bg 0.15)',
    'irn': 'IRN R50: 66.5 (train), +18 over CAM',
    'affinitynet': 'AffinityNet R38: 61.0 (train)',
    'instances': 'IRN: 37.7 AP50 (VOC train)',
    'deeplabv2': 'IRN -> DeepLabV2-R50: 63.5 val, ~83% of fully supervised',
    'ptrecl': 'PtReCl: +8.4 over its IRN baseline (VOC train)',
    'reclassify': 'PtReCl: ~70 for m in 10-20 (VOC train)',
    'wise': 'PRM: 26.8 AP50 (VOC val); WISE -> Mask R-CNN: 41.7 (VOC val)',
    'maskrcnn': 'Mask R-CNN on IRN instances 46.7, on WISE 41.7 mask AP50 (VOC val)',
}
#: Stages whose outputs each benchmark's sample picture shows (with the image
#: and its ground truth), and whether as label maps (else as instances).
SAMPLE_STAGES = {
    'semantic': (
        (
            'thresholds',
            'cam',
            'crf_labels',
            'irn_labels',
            'irn_crf_labels',
            'irn_crf_consensus',
            'ptrecl_labels',
            'deeplabv2_consensus',
        ),
        True,
    ),
    'instances': (
        ('irn', 'wise', 'maskrcnn_gt', 'maskrcnn_irn', 'maskrcnn_wise'),
        False,
    ),
    'seeds': (
        (
            'cam_labels',
            'seam_labels',
            'oaa_labels',
            'cam_hfpl_labels',
            'cam_hfpl_ft_labels',
            'seam_hfpl_labels',
            'seam_irn_labels',
        ),
        True,
    ),
}
#: Train images in the sample pictures.
NUM_SAMPLES = 4
#: Mask R-CNN stages of the bench pipeline: stage -> what it trained on.
MASK_RCNN_STAGES = {
    'maskrcnn_wise': ('WISE instances', 'wise'),
    'maskrcnn_irn': ('IRN instances', 'irn'),
    'maskrcnn_gt': ('ground-truth instances', None),
}
#: Consensus stages of the bench pipeline: stage -> the folders that agree.
CONSENSUS_STAGES = {
    'irn_crf_consensus': 'IRN and CAM + CRF',
    'crf_consensus': 'IRN + CRF and CAM + CRF',
    'selftrain_consensus': (
        'self-training: the consensus-trained DeepLabV2 (its train predictions), '
        'IRN and CAM + CRF'
    ),
}


def consensus_title(stage: str) -> str:
    """'<the folders> where they agree' of a consensus stage."""
    return f'{CONSENSUS_STAGES[stage]} where they agree'


#: DeepLabV2 stages of the bench pipeline: stage -> (what it trained on, the
#: stage that made those masks).
DEEPLAB_STAGES = {
    'deeplabv2_cam': ('CAM seed masks', 'cam_labels'),
    'deeplabv2_crf': ('CAM + CRF masks', 'crf_labels'),
    'deeplabv2_affinitynet': ('AffinityNet masks', 'affinitynet'),
    'deeplabv2_irn': ('IRN masks', 'irn_labels'),
    'deeplabv2_irn_crf': ('IRN + CRF masks', 'irn_crf_labels'),
    'deeplabv2_ptrecl': ('PtReCl masks', 'ptrecl_labels'),
    'deeplabv2_consensus': (consensus_title('irn_crf_consensus'), 'irn_crf_consensus'),
    'deeplabv2_crf_consensus': (consensus_title('crf_consensus'), 'crf_consensus'),
    'deeplabv2_selftrain': (
        consensus_title('selftrain_consensus'),
        'selftrain_consensus',
    ),
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='regenerate BENCHMARKS.md')
    parser.add_argument(
        '--bench',
        default='semantic',
        choices=sorted(BENCHES),
        help='which benchmark pipeline to run (default semantic); BENCHMARKS.md '
        'shows every benchmark whose results file exists',
    )
    parser.add_argument('--pipeline', help="pipeline config (default: the bench's)")
    parser.add_argument(
        '--seed', type=int, default=0, help='FashionPaste generator seed (default 0)'
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
        '(e.g. of an interrupted run) into the JSON and render it',
    )
    group = parser.add_mutually_exclusive_group()
    group.add_argument('--from', dest='from_stage', help='rerun from this stage')
    group.add_argument('--only', help='rerun only this stage')
    parser.add_argument(
        '--until', help='stop after this stage (render what has finished)'
    )
    args = parser.parse_args(argv)
    args.pipeline = args.pipeline or BENCHES[args.bench]['pipeline']
    args.results = args.results or BENCHES[args.bench]['results']
    return args


def machine_info() -> dict:
    cpu = platform.processor()
    try:
        with open('/proc/cpuinfo') as f:
            names = [
                ln.split(':', 1)[1].strip() for ln in f if ln.startswith('model name')
            ]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    try:
        commit = subprocess.run(
            ['git', 'rev-parse', '--short', 'HEAD'], capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        commit = ''
    return dict(
        cpu=cpu,
        cores=os.cpu_count(),
        torch=torch.__version__,
        threads=torch.get_num_threads(),
        cuda=torch.cuda.is_available(),
        python=platform.python_version(),
        commit=commit,
        date=time.strftime('%Y-%m-%d'),
    )


def pipeline_config(args: argparse.Namespace) -> Config:
    """The pipeline config with the generator ``--seed`` / ``--source``."""
    cfg = Config.fromfile(args.pipeline)
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


def collect(cfg: Config) -> dict[str, dict]:
    """The finished stages' manifests in the pipeline's work dir, in order."""
    from mmwsss.pipeline.stage_runner import MANIFEST

    stages = {}
    for stage in cfg.stages:
        path = osp.join(cfg.work_dir, stage['name'], MANIFEST)
        if osp.exists(path):
            with open(path) as f:
                manifest = json.load(f)
            if manifest.get('finished'):
                stages[stage['name']] = manifest
    return stages


def run(args: argparse.Namespace) -> dict:
    """Run the pipeline (or, with ``--collect``, only read its finished
    stages) and gather what BENCHMARKS.md shows."""
    cfg = pipeline_config(args)
    if args.collect:
        stages = collect(cfg)
    else:
        from mmwsss.pipeline.stage_runner import run_pipeline

        stages = run_pipeline(
            cfg, from_stage=args.from_stage, only=args.only, until=args.until
        )
    command = (
        f'python tools/benchmark.py --bench {args.bench} --seed {args.seed} '
        f'--source {args.source}'
    )
    return dict(
        pipeline=args.pipeline,
        seed=args.seed,
        source=args.source,
        work_dir=cfg.work_dir,
        stages={k: v for k, v in stages.items() if v},
        planned=[stage['name'] for stage in cfg.stages],
        machine=machine_info(),
        command=command,
    )


# ---------------------------------------------------------------- rendering


def _m(stage: dict | None, key: str) -> float | None:
    if not stage or not stage.get('finished'):
        return None
    value = (stage.get('metrics') or {}).get(key)
    return None if value is None else float(value)


def _f(value, fmt='.1f', none='not run') -> str:
    return none if value is None else format(value, fmt)


def _labels_note(stage: dict | None) -> str:
    if not stage or not stage.get('finished'):
        return ''
    m = stage['metrics']
    return f"{m['coverage']:.0f}% of pixels labelled, {m['precision']:.1f}% right"


def _pr(stage: dict | None) -> str:
    """Class-mean precision / recall of a label stage (too large masks lose
    precision, too small ones recall)."""
    p, r = _m(stage, 'mPrecision'), _m(stage, 'mRecall')
    return '' if p is None or r is None else f'precision {p:.1f} / recall {r:.1f}; '


def _quality_rows(s: dict) -> list[str]:
    rows = []
    data, cam = s.get('data'), s.get('cam')
    rows.append(
        f"| all background | `data` | - | {_f(_m(data, 'all_background_mIoU'))} "
        '| - | the floor | - |'
    )
    labels = s.get('cam_labels')
    if labels and labels.get('finished'):
        bg = labels['label_options']['bg_score']
        oracle = (
            f"{_m(cam, 'seed/mIoU_best'):.1f} (bg {_m(cam, 'seed/best_bg_score'):.2f})"
        )
        rows.append(
            f"| CAM seeds | `cam_labels` | bg {bg:.2f} | {_f(_m(labels, 'mIoU'))} | "
            f"{oracle} | {_pr(labels)}{_m(cam, 'seed/mIoU'):.1f} at IRN's fixed "
            "0.15; val cls "
            f"mAP {cam['val']['cls/mAP']:.1f} | {PUBLISHED['cam']} |"
        )
    crf, crf_oracle = s.get('crf_labels'), s.get('crf_labels_oracle')
    if crf and crf.get('finished'):
        oracle = '-'
        if crf_oracle and crf_oracle.get('finished'):
            oracle = (
                f"{_m(crf_oracle, 'mIoU'):.1f} (bg "
                f"{crf_oracle['label_options']['bg_score']:.2f})"
            )
        rows.append(
            f"| CAM + CRF | `crf_labels` | bg {crf['label_options']['bg_score']:.2f} "
            f"| {_f(_m(crf, 'mIoU'))} | {oracle} | {_pr(crf)}dense CRF (PSA preset) "
            '| - |'
        )
    aff, psa = s.get('affinitynet'), s.get('psa_labels')
    if aff and aff.get('finished'):
        opts = psa['label_options']
        rows.append(
            f"| AffinityNet | `affinitynet` | walk alpha "
            f"{aff['options']['model.test_cfg.alpha']:.2f}; labels alpha "
            f"{opts['alpha_low']:.2f} / {opts['alpha_high']:.2f} | "
            f"{_f(_m(aff, 'mIoU'))} | - | trained on PSA labels: "
            f"{_labels_note(psa)} | {PUBLISHED['affinitynet']} |"
        )
    irn, ir = s.get('irn'), s.get('ir_labels')
    irn_labels = s.get('irn_labels')
    if irn_labels and irn_labels.get('finished'):
        opts = ir['label_options']
        oracle = (
            f"{_m(irn, 'walk/mIoU_best'):.1f} (bg {_m(irn, 'walk/best_bg_score'):.2f})"
        )
        walk_bg = irn_labels['label_options']['bg_score']
        rows.append(
            f'| IRN | `irn_labels` | walk bg {walk_bg:.2f}'
            f"; IR labels fg {opts['fg_thr']:.2f} / bg {opts['bg_thr']:.2f} | "
            f"{_f(_m(irn_labels, 'mIoU'))} | {oracle} | {_pr(irn_labels)}trained on "
            'IR labels: '
            f"{_labels_note(ir)}; {_m(irn, 'walk/mIoU'):.1f} at IRN's 0.25 | "
            f"{PUBLISHED['irn']} |"
        )
    irn_crf = s.get('irn_crf_labels')
    if irn_crf and irn_crf.get('finished'):
        rows.append(
            f"| IRN + CRF | `irn_crf_labels` | bg "
            f"{irn_crf['label_options']['bg_score']:.2f} | {_f(_m(irn_crf, 'mIoU'))} "
            f'| - | {_pr(irn_crf)}dense CRF (PSA preset) on the walked scores | - |'
        )
    for name, title in CONSENSUS_STAGES.items():
        consensus = s.get(name)
        if not (consensus and consensus.get('finished')):
            continue
        rows.append(
            f"| {title} agree | `{name}` | - (their settings) | "
            f"{_f(_m(consensus, 'mIoU'))} | - | {_pr(consensus)}ignored (255) where "
            f"they differ: {_f(_m(consensus, 'coverage'))}% of pixels keep a "
            f"label, {_f(_m(consensus, 'precision'))}% of them right | - |"
        )
        if name == 'irn_crf_consensus':
            rows += _selftrain_predict_rows(s)
    rows += _ptrecl_quality_rows(s)
    if irn and irn.get('finished') and 'instance/AP50' in irn['metrics']:
        rows.append(
            "| IRN instances | `irn` | the IRN config's walk bg (IRN's published 0.25) "
            f"| AP50 {_m(irn, 'instance/AP50'):.1f} (mask AP "
            f"{_m(irn, 'instance/AP'):.1f}) | - | instance pseudo labels on train | "
            f"{PUBLISHED['instances']} |"
        )
    return rows


def _selftrain_predict_rows(s: dict) -> list[str]:
    """Self-training's labelling pass: the consensus-trained DeepLabV2's own
    train predictions."""
    predict = s.get('selftrain_predict')
    if _m(predict, 'mIoU') is None:
        return []
    return [
        '| DeepLabV2 trained on that consensus, predicting train | '
        "`selftrain_predict` | its own argmax (background and the image's "
        f"classes) | {_f(_m(predict, 'mIoU'))} | - | self-training's labelling "
        'pass (the next round keeps the pixels where it agrees with the '
        'consensus) | - |'
    ]


def _ptrecl_quality_rows(s: dict) -> list[str]:
    """PtReCl's stages: the recovery net's masks, the reclassification maps
    and IRN's walk on them."""
    rows = []
    recovery = s.get('recovery')
    if _m(recovery, 'mIoU') is not None:
        rows.append(
            '| PtReCl recovery net | `recovery` | its own argmax (background and '
            f"the image's classes) | {_f(_m(recovery, 'mIoU'))} | - | label-"
            'conditioned DeepLabV2 trained on the IRN masks, tested on train | - |'
        )
    protos, reclass = s.get('prototypes'), s.get('reclassify')
    if _m(reclass, 'mIoU') is not None:
        k = (protos or {}).get('options', {}).get('test_cfg.num_prototypes', '?')
        m = reclass['options'].get('model.top_m', '?')
        rows.append(
            f'| PtReCl reclassification map | `reclassify` | K {k}, m {m}; bg where '
            f"no class has a majority of the votes (0.5) | {_f(_m(reclass, 'mIoU'))} "
            '| - | share of foreground prototypes among the top-m most similar '
            f"| {PUBLISHED['reclassify']} |"
        )
    walk, labels = s.get('irn_ptrecl'), s.get('ptrecl_labels')
    if _m(labels, 'mIoU') is not None:
        oracle = '-'
        if _m(walk, 'walk/mIoU_best') is not None:
            oracle = (
                f"{_m(walk, 'walk/mIoU_best'):.1f} (bg "
                f"{_m(walk, 'walk/best_bg_score'):.2f})"
            )
        delta = ''
        irn = _m(s.get('irn_labels'), 'mIoU')
        if irn is not None:
            delta = f"{_m(labels, 'mIoU') - irn:+.1f} over IRN; "
        rows.append(
            f"| PtReCl | `ptrecl_labels` | walk bg "
            f"{labels['label_options']['bg_score']:.2f} (Otsu) | "
            f"{_f(_m(labels, 'mIoU'))} | {oracle} | {delta}{_pr(labels)}IRN's walk "
            f"(IRN's checkpoint) on the reclassification maps | {PUBLISHED['ptrecl']} |"
        )
    return rows


def _ptrecl_rows(s: dict) -> list[str]:
    """PtReCl's ablations (K, m) and its prototype stage's time and memory."""
    grid = {}
    for name, stage in s.items():
        if (
            (name == 'reclassify' or name.startswith('reclassify_'))
            and _m(stage, 'mIoU') is not None
            and 'model.backbone.out_indices' not in stage.get('options', {})
        ):
            source = s.get(stage.get('inputs', {}).get('prototypes', ''), {})
            k = source.get('options', {}).get('test_cfg.num_prototypes')
            m = stage['options'].get('model.top_m')
            grid[(k, m)] = _m(stage, 'mIoU')
    if not grid:
        return []
    ks = sorted({k for k, _ in grid if k is not None})
    ms = sorted({m for _, m in grid if m is not None})
    rows = [
        '## PtReCl: ablations and the prototype stage',
        '',
        'Train mIoU of the reclassification map (stage names `reclassify*`; '
        'background where no class has a majority of the top-m votes) by K '
        '(prototypes per class and side) and m (prototypes that vote); '
        "'-': not run (m must stay below 2K to leave a vote).",
        '',
        '| K / m | ' + ' | '.join(str(m) for m in ms) + ' |',
        '|---|' + '---|' * len(ms),
    ]
    for k in ks:
        cells = ' | '.join(_f(grid.get((k, m)), none='-') for m in ms)
        rows.append(f'| {k} | {cells} |')
    rows += [
        '',
        '| prototype stage | images streamed | time | peak resident memory | '
        'above its start | reservoirs |',
        '|---|---|---|---|---|---|',
    ]
    for name in ('prototypes', 'prototypes_2x'):
        stage = s.get(name)
        if _m(stage, 'prototypes/seconds') is None:
            continue
        rows.append(
            f"| `{name}` | {_m(stage, 'prototypes/images'):.0f} | "
            f"{_m(stage, 'prototypes/seconds'):.0f} s | "
            f"{_m(stage, 'prototypes/peak_rss_mb'):.0f} MB | "
            f"{_m(stage, 'prototypes/peak_above_start_mb'):.0f} MB | "
            f"{_m(stage, 'prototypes/bank_mb'):.0f} MB |"
        )
    one, two = s.get('prototypes'), s.get('prototypes_2x')
    a, b = _m(one, 'prototypes/peak_rss_mb'), _m(two, 'prototypes/peak_rss_mb')
    if a and b:
        rows += [
            '',
            f'Twice the images: peak memory {100 * (b - a) / a:+.1f}% (the '
            'reservoirs keep at most 4096 features per class and side, whatever '
            'the number of images).',
        ]
    return [*rows, '', *_ptrecl_feature_rows(s)]


#: PtReCl's feature ablation: (features, prototype, reclassification and
#: mask stages).
PTRECL_FEATURES = (
    (
        'head conv (1280-d, ReLU6; the default)',
        'prototypes',
        'reclassify',
        'ptrecl_labels',
    ),
    (
        'level 3 (112-d, linear projection)',
        'prototypes_l3',
        'reclassify_l3',
        'ptrecl_l3_labels',
    ),
)


def _ptrecl_feature_rows(s: dict) -> list[str]:
    """Which recovery-net features the prototypes compare: their sparsity,
    the reclassification map and the final PtReCl masks (train mIoU)."""
    rows = []
    for what, protos, reclass, labels in PTRECL_FEATURES:
        if _m(s.get(reclass), 'mIoU') is None:
            continue
        zeros = _m(s.get(protos), 'prototypes/feature_zero_fraction')
        zeros = '-' if zeros is None or zeros != zeros else f'{100 * zeros:.0f}%'
        rows.append(
            f'| {what} | `{protos}` | {zeros} | '
            f"{_f(_m(s.get(reclass), 'mIoU'))} | {_f(_m(s.get(labels), 'mIoU'))} |"
        )
    if len(rows) < 2:
        return []
    return [
        "Which of the recovery net's features the prototypes compare (K = 20, "
        'm = 10; train mIoU; zeros: share of exact zeros among the features '
        "streamed, '-' where the stage predates that count):",
        '',
        '| features | prototype stage | zeros | reclassification map | '
        'PtReCl masks |',
        '|---|---|---|---|---|',
        *rows,
        '',
    ]


def _instance_section(results: dict | None) -> list[str]:
    """The instance benchmark: pseudo instances on train, Mask R-CNN on val."""
    if not results:
        return []
    s = results['stages']
    rows = [
        '## Instances: WISE and IRN into Mask R-CNN',
        '',
        f"Pipeline `{results['pipeline']}` (`{results['command']}`; shares the "
        'data, CAM and IRN stages above). Pseudo instances are scored on train '
        "against the ground-truth instances (COCO mask AP), Mask R-CNN by mmdet's "
        'CocoMetric on val.',
        '',
        '| instances | pipeline stage | setting (ground-truth-free) | train mask AP50 '
        '| train mask AP | notes | published (VOC) |',
        '|---|---|---|---|---|---|---|',
    ]
    wise, irn = s.get('wise'), s.get('irn')
    if _m(wise, 'instance/AP50') is not None:
        skipped = ', '.join(f'{v} {k}' for k, v in wise['skipped'].items() if v)
        rows.append(
            f"| WISE | `wise` | PRM peaks above bg {wise['options']['min_score']:.2f} "
            f"(Otsu of the PRM maps); NMS {wise['options']['nms_iou']:.1f} | "
            f"{_m(wise, 'instance/AP50'):.1f} | {_m(wise, 'instance/AP'):.1f} | "
            f"{wise['instances']} instances; skipped: {skipped or 'none'} | "
            f"{PUBLISHED['wise']} |"
        )
    if _m(irn, 'instance/AP50') is not None:
        rows.append(
            "| IRN | `irn` | the IRN config's walk bg (IRN's published 0.25) | "
            f"{_m(irn, 'instance/AP50'):.1f} | {_m(irn, 'instance/AP'):.1f} | - | "
            f"{PUBLISHED['instances']} |"
        )
    rows += ['', *_mask_rcnn_rows(s)]
    proposals = s.get('proposals')
    if (proposals or {}).get('images_per_s'):
        rows += [
            f"Proposals (stage `proposals`, selective search, 2 processes): "
            f"{proposals['images_per_s']:.1f} images/s.",
            '',
        ]
    return rows


#: Published VOC train seed mIoU of the seed methods.
PUBLISHED_SEEDS = {'cam': '48.3', 'seam': '55.4'}
#: The seed methods of the seeds benchmark: classifier stage -> title.
SEED_METHODS = {
    'cam': 'CAM',
    'seam': 'SEAM',
    'oaa': 'OAA',
    'cam_hfpl': 'CAM + HFPL',
    'seam_hfpl': 'SEAM + HFPL',
    'cam_hfpl_ft': 'CAM + HFPL, from the CAM classifier',
}


def _collapsed_seed_row(method: str, title: str, classifier: dict, s: dict) -> str:
    """A classifier trained and exported, but its seeds were not cut (e.g.
    maps that collapsed, with no threshold to find): its own scores."""
    val = (classifier.get('val') or {}).get('cls/mAP')
    cam_val = ((s.get('cam') or {}).get('val') or {}).get('cls/mAP')
    note = f'not cut: val cls mAP {_f(val)}'
    if cam_val is not None:
        note += f" (CAM's {cam_val:.1f})"
    return (
        f"| {title} | `{method}` | - | - | {_m(classifier, 'seed/mIoU_best'):.1f} "
        f"(bg {_m(classifier, 'seed/best_bg_score'):.2f}) | - | - | {note} | - | "
        f"{PUBLISHED_SEEDS.get(method, '-')} |"
    )


def _seeds_section(results: dict | None, bound: float | None = None) -> list[str]:
    """The seeds benchmark: each method's seeds at their own Otsu cut;
    ``bound``: the semantic bench's DeepLabV2 on ground truth (val mIoU)."""
    if not results:
        return []
    s = results['stages']
    quality = (s.get('seed_quality') or {}).get('scores') or {}
    cam_time = (s.get('cam') or {}).get('train_s')
    rows = [
        '## Seeds: CAM, SEAM, OAA and HFPL',
        '',
        f"Pipeline `{results['pipeline']}` (`{results['command']}`). Each "
        "method's seeds (OAA: its accumulated maps; SEAM: the revised CAMs) cut "
        "at their own Otsu background score, scored on train; the oracle is the "
        "classifier's own sweep against ground truth; training time relative to "
        'the CAM classifier (same epochs and images).',
        '',
        '| seeds | classifier stage | bg (own Otsu) | train mIoU | oracle: best of '
        'GT sweep | contour F | interior mIoU | precision / recall | training time '
        'vs CAM | published (VOC train) |',
        '|---|---|---|---|---|---|---|---|---|---|',
    ]
    collapsed = []
    for method, title in SEED_METHODS.items():
        labels, classifier = s.get(f'{method}_labels'), s.get(method)
        if _m(labels, 'mIoU') is None:
            if _m(classifier, 'seed/mIoU') is not None:
                rows.append(_collapsed_seed_row(method, title, classifier, s))
                collapsed.append(title)
            continue
        oracle = '-'
        if method != 'oaa' and _m(classifier, 'seed/mIoU_best') is not None:
            oracle = (
                f"{_m(classifier, 'seed/mIoU_best'):.1f} (bg "
                f"{_m(classifier, 'seed/best_bg_score'):.2f})"
            )
        q = quality.get(f'{method}_labels') or {}
        time_ratio = '-'
        if cam_time and (classifier or {}).get('train_s'):
            time_ratio = f"{classifier['train_s'] / cam_time:.2f}x"
            if 'load_from' in (classifier.get('options') or {}):
                time_ratio += ' after the CAM (fine-tunes it)'
        rows.append(
            f"| {title} | `{method}` | {labels['label_options']['bg_score']:.2f} | "
            f"{_m(labels, 'mIoU'):.1f} | {oracle} | "
            f"{_f(q.get('contour_F', _m(labels, 'contour_F')))} | "
            f"{_f(q.get('interior_mIoU', _m(labels, 'interior_mIoU')))} | "
            f"{_pr(labels).rstrip('; ') or '-'} | "
            f"{time_ratio} | {PUBLISHED_SEEDS.get(method, '-')} |"
        )
    if collapsed:
        rows += [
            '',
            f"Not cut ({', '.join(collapsed)}): the classifier trained and exported, "
            'but every max score of its maps falls in one histogram bin, so its '
            'Thresholds stage finds no cut and stops the pipeline with that error; '
            'val cls mAP at chance says the training collapsed.',
        ]
    for method, title in SEED_METHODS.items():
        irn = s.get(f'{method}_irn_labels')
        if _m(irn, 'mIoU') is not None:
            rows += [
                '',
                f"IRN on the {title} seeds (stage `{method}_irn_labels`, walk cut at "
                f"its own Otsu score {irn['label_options']['bg_score']:.2f}): train "
                f"mIoU {_m(irn, 'mIoU'):.1f}, contour F {_f(_m(irn, 'contour_F'))}.",
            ]
    return [*rows, *_seed_deeplab_rows(s, bound), '']


def _seed_deeplab_rows(s: dict, bound: float | None) -> list[str]:
    """The best seeds through the semantic bench's best recipe: their IRN
    masks and CRF-refined seeds where they agree, DeepLabV2 on that (stages
    ``{method}_crf_labels``, ``{method}_consensus``,
    ``deeplabv2_{method}_consensus``)."""
    rows = []
    for method, title in SEED_METHODS.items():
        crf, agree = s.get(f'{method}_crf_labels'), s.get(f'{method}_consensus')
        net = s.get(f'deeplabv2_{method}_consensus')
        if _m(crf, 'mIoU') is not None and _m(agree, 'mIoU') is not None:
            rows += [
                '',
                f"{title} + CRF (stage `{method}_crf_labels`): train mIoU "
                f"{_m(crf, 'mIoU'):.1f}; where it and IRN on the same seeds agree "
                f"(stage `{method}_consensus`): {_m(agree, 'coverage'):.1f}% of "
                f"pixels keep a label, {_m(agree, 'precision'):.1f}% of them right "
                f"(train mIoU {_m(agree, 'mIoU'):.1f}).",
            ]
        if _m(net, 'mIoU') is not None:
            share = ''
            if bound:
                share = (
                    f' ({100 * _m(net, "mIoU") / bound:.0f}% of the bound {bound:.1f})'
                )
            rows += [
                '',
                f'DeepLabV2 on that agreement (stage `deeplabv2_{method}_consensus`, '
                f"the semantic bench's config, backbone from the CAM classifier): val "
                f"mIoU {_m(net, 'mIoU'):.1f}{share}.",
            ]
    return rows


def _mask_rcnn_rows(s: dict) -> list[str]:
    """Mask R-CNN (mmdet's CocoMetric on val) on each instance source."""

    def ap(stage, key):
        value = _m(stage, key)
        return None if value is None or value < 0 else 100 * value

    gt50 = ap(s.get('maskrcnn_gt'), 'coco/segm_mAP_50')
    rows = []
    for name, (what, source) in MASK_RCNN_STAGES.items():
        stage = s.get(name)
        segm50 = ap(stage, 'coco/segm_mAP_50')
        if segm50 is None:
            continue
        ratio = (
            f' ({100 * segm50 / gt50:.0f}% of ground truth)'
            if gt50 and source is not None
            else ''
        )
        train = (
            f"pseudo instances of AP50 {_m(s.get(source), 'instance/AP50'):.1f} on "
            'train'
            if source and _m(s.get(source), 'instance/AP50') is not None
            else 'the fully supervised upper bound'
        )
        rows.append(
            f'| Mask R-CNN on {what} | `{name}` | {segm50:.1f}{ratio} | '
            f"{_f(ap(stage, 'coco/segm_mAP'))} | {_f(ap(stage, 'coco/bbox_mAP_50'))} "
            f"| {train} | {PUBLISHED['maskrcnn'] if source else '-'} |"
        )
    if not rows:
        return []
    return [
        '| instance net | pipeline stage | val mask AP50 | val mask AP | val box AP50 '
        '| trained on | published (VOC) |',
        '|---|---|---|---|---|---|---|',
        *rows,
        '',
    ]


def _tta_cell(s: dict, name: str) -> str:
    """val mIoU of stage ``name`` under DeepLab's test-time augmentation +
    CRF (its ``{name}_tta`` stage) and its share of the bound's, or '-'."""
    miou = _m(s.get(f'{name}_tta'), 'mIoU')
    if miou is None:
        return '-'
    bound = _m(s.get('deeplabv2_gt_tta'), 'mIoU')
    if name == 'deeplabv2_gt' or bound is None:
        return f'{miou:.1f}'
    return f'{miou:.1f} ({100 * miou / bound:.0f}%)'


def _deeplab_rows(s: dict) -> list[str]:
    gt, gt2 = s.get('deeplabv2_gt'), s.get('deeplabv2_gt_2x')
    gt_miou = _m(gt, 'mIoU')
    rows = []
    for name, (what, source_name) in DEEPLAB_STAGES.items():
        stage = s.get(name)
        miou = _m(stage, 'mIoU')
        if miou is None:
            continue
        ratio = f' ({100 * miou / gt_miou:.0f}% of ground truth)' if gt_miou else ''
        source = s.get(source_name)
        trained_on = f'masks of {_f(_m(source, "mIoU"))} train mIoU'
        coverage = _m(source, 'coverage')
        if coverage is not None and coverage < 99.5:
            trained_on += (
                f" ({_f(_m(source, 'mIoU_labelled'))} on the {coverage:.0f}% of "
                'pixels they label; the rest ignored)'
            )
        rows.append(
            f'| DeepLabV2 on {what} | `{name}` | val {miou:.1f}{ratio} | '
            f'{_tta_cell(s, name)} | {trained_on} | {PUBLISHED["deeplabv2"]} |'
        )
    if gt_miou is not None:
        note = 'the fully supervised upper bound'
        if _m(gt2, 'mIoU') is not None:
            note += f"; twice as long: {_m(gt2, 'mIoU'):.1f}"
        rows.append(
            f'| DeepLabV2 on ground truth | `deeplabv2_gt` | val {gt_miou:.1f} '
            f"| {_tta_cell(s, 'deeplabv2_gt')} | {note} | - |"
        )
    return rows


#: Label stages whose per-class IoU BENCHMARKS.md shows side by side.
PER_CLASS_STAGES = {
    'cam_labels': 'CAM',
    'crf_labels': 'CAM + CRF',
    'irn_labels': 'IRN',
    'irn_crf_labels': 'IRN + CRF',
    'ptrecl_labels': 'PtReCl',
}


def _per_class_rows(s: dict) -> list[str]:
    """Per-class IoU of the pseudo-mask stages (where a method loses what)."""
    stages = {
        title: s[name]['per_class_iou']
        for name, title in PER_CLASS_STAGES.items()
        if (s.get(name) or {}).get('per_class_iou')
    }
    if not stages:
        return []
    from mmwsss.datasets.fashionpaste import FASHIONPASTE_CLASSES

    rows = [
        '## Per-class IoU of the pseudo masks (train)',
        '',
        '| class | ' + ' | '.join(stages) + ' |',
        '|---|' + '---|' * len(stages),
    ]
    for index, name in enumerate(FASHIONPASTE_CLASSES):
        values = ' | '.join(f'{ious[index]:.1f}' for ious in stages.values())
        rows.append(f'| {name} | {values} |')
    return [*rows, '']


#: Titles of the label folders the ``label_quality`` stage scores.
OUTLINE_TITLES = {
    'cam_labels': 'CAM seeds',
    'crf_labels': 'CAM + CRF',
    'irn_labels': 'IRN',
    'irn_crf_labels': 'IRN + CRF',
    **{name: consensus_title(name) for name in CONSENSUS_STAGES},
    'affinitynet.pseudo_labels': 'AffinityNet',
    'recovery': 'PtReCl recovery net',
    'ptrecl_labels': 'PtReCl',
}


def _outline_rows(s: dict) -> list[str]:
    """Region vs outline quality of the pseudo masks (stage label_quality)."""
    stage = s.get('label_quality')
    if not stage or not stage.get('finished'):
        return []
    scores = stage['scores']
    rows = [
        '## Regions and outlines of the pseudo masks (train)',
        '',
        'Stage `label_quality` (analysis against the train ground truth, no '
        'setting comes from it; `mmwsss/evaluation/contour.py`): interior mIoU = '
        'mIoU of the pixels more than 4 px (2 x the tolerance) from any '
        'ground-truth label change; contour F = boundary F1 per class (Csurka '
        "et al. 2013; a predicted outline pixel counts when the class's "
        'ground-truth outline is within 2 px, 0.75% of the image diagonal), '
        'pooled over the images, class mean.',
        '',
        '| pseudo masks | mIoU | interior mIoU | contour F | contour precision / '
        'recall |',
        '|---|---|---|---|---|',
    ]
    for ref, found in scores.items():
        title = OUTLINE_TITLES.get(ref, ref)
        rows.append(
            f"| {title} (`{ref}`) | {found['mIoU']:.1f} | "
            f"{found['interior_mIoU']:.1f} | {found['contour_F']:.1f} | "
            f"{found['contour_P']:.1f} / {found['contour_R']:.1f} |"
        )
    irn, crf = scores.get('irn_labels'), scores.get('crf_labels')
    if irn and crf:
        deltas = ', '.join(
            f'{label} {irn[key] - crf[key]:+.1f}'
            for key, label in (
                ('mIoU', 'mIoU'),
                ('interior_mIoU', 'interior mIoU'),
                ('contour_F', 'contour F'),
            )
        )
        rows += ['', f'IRN minus CAM + CRF: {deltas}.']
    return [*rows, '']


def _walk_rows(s: dict) -> list[str]:
    walk = s.get('walk')
    if not walk or not walk.get('finished'):
        return []
    rows = [
        '## Random walk: ours vs the published dense formulation',
        '',
        'Stage `walk` (`mmwsss/pipeline/walk_benchmark.py`): IRN settings (radius '
        '5, beta 10, 256 steps), 3 class maps on a seeded synthetic scene; each '
        'measurement in a fresh process, peak memory = peak resident memory above '
        'the inputs. Dense = the HW x HW transition squared 8 times (torch, '
        'denormals flushed, all cores); ours = 256 stencil steps (numba kernel). '
        'Agreement = share of equal IRN labels (bg 0.25, argmax).',
        '',
        '| map | ours | ours peak memory | dense | dense peak memory | speed-up '
        '| label agreement |',
        '|---|---|---|---|---|---|---|',
    ]
    for row in walk['rows']:
        size = f"{row['size'][0]}x{row['size'][1]}"
        ours = f"{row['sparse_s'] * 1000:.0f} ms | {row['sparse_peak_mb']:.0f} MB"
        if 'dense_s' in row:
            rows.append(
                f"| {size} | {ours} | {row['dense_s']:.1f} s | "
                f"{row['dense_peak_mb']:.0f} MB | {row['speedup']:.0f}x | "
                f"{100 * row['agreement']:.2f}% |"
            )
        else:
            rows.append(f'| {size} | {ours} | not run (O((HW)^2) memory) | - | - | - |')
    return [*rows, '']


def _threshold_rows(s: dict) -> list[str]:
    th = s.get('thresholds')
    if not th or not th.get('finished'):
        return []
    t = th['thresholds']
    rows = [
        '## Ground-truth-free thresholds',
        '',
        f"Stage `thresholds`: {th['rule']} (`mmwsss/ops/thresholds.py`). From "
        "the CAMs: seed / CRF background score (Otsu) "
        f"{t['bg_score']:.3f}, IR labels fg {t['fg_thr']:.3f} / bg {t['bg_thr']:.3f} "
        f"(multi-Otsu), PSA walk alpha {t['alpha']:.2f}, PSA labels alpha "
        f"{t['alpha_low']:.2f} / {t['alpha_high']:.2f}; {100 * t['fg_fraction']:.1f}% "
        'of train pixels above the background score.',
    ]
    irn_labels = s.get('irn_labels')
    if irn_labels and irn_labels.get('finished'):
        rows[-1] += (
            ' The walked scores (stage `irn_labels`) get their own Otsu background '
            f"score: {irn_labels['thresholds']['bg_score']:.3f}."
        )
    return [*rows, '']


def _speed_rows(s: dict) -> list[str]:
    rows = []
    data = s.get('data')
    n_train = data['counts']['train'] if data else '?'
    for name, stage in s.items():
        if not stage.get('finished') or name in ('walk',):
            continue
        if (
            'train_s' in stage
            and not stage['train_s']
            and stage.get('export_images_per_s')
        ):
            rows.append(
                f"| `{name}` (test only, {stage.get('num_images', n_train)} images) | "
                f'{stage["export_images_per_s"]:.2f} images/s |'
            )
        elif 'train_s' in stage:
            resumed = (
                ' (resumed run: its last part only)' if stage.get('resumed') else ''
            )
            rows.append(
                f"| `{name}` training ({n_train} images) | {stage['train_s']:.0f} s"
                f'{resumed}; test / export {stage["export_images_per_s"]:.2f} '
                'images/s |'
            )
        elif stage.get('images_per_s'):
            rows.append(
                f"| `{name}` ({stage['kind']}, 2 processes) | "
                f"{stage['images_per_s']:.1f} images/s |"
            )
        elif 'seconds' in stage:
            rows.append(f"| `{name}` ({stage['kind']}) | {stage['seconds']:.0f} s |")
    return rows


def render(results: dict, root: str = '.', others: dict | None = None) -> str:
    """BENCHMARKS.md's text from the semantic benchmark's ``results`` and the
    ``others`` ('instances', 'seeds': their results, where they exist);
    ``root``: the folder that holds benchmarks/."""
    others = others or {}
    s, m = results['stages'], results['machine']
    data = s.get('data') or {}
    counts, size = data.get('counts', {}), data.get('image_size') or ['?', '?']
    missing = [
        name
        for name in results.get('planned', [])
        if not (s.get(name) or {}).get('finished')
    ]
    lines = [
        '# BENCHMARKS',
        '',
        '<!-- Generated by tools/benchmark.py from benchmarks/results*.json. '
        'Do not edit by hand. -->',
        '',
        f"Pipeline `{results['pipeline']}` (generator seed {results['seed']}): "
        f"FashionPaste, {counts.get('train', '?')} train / {counts.get('val', '?')} "
        f"val images of {size[0]}x{size[1]} px (Fashion-MNIST items, "
        f"{data.get('source', '?')} copy, on real photo crops), 10 classes + "
        'background. Every row is a stage of that pipeline (its name in the '
        'second column); `tools/run_pipeline.py` on the same config gives the '
        'same numbers. Seeds and pseudo masks are scored on train (the WSSS '
        'protocol), DeepLabV2 on val.',
        '',
        '## Quality per stage',
        '',
        'Settings are ground-truth-free (see the next section). The oracle column '
        'shows what a sweep against the train ground truth would pick, for '
        'comparison only: a user without ground truth cannot pick it.',
        '',
        '| stage | pipeline stage | setting (ground-truth-free) | train mIoU | '
        'oracle: best of GT sweep | notes | published (VOC) |',
        '|---|---|---|---|---|---|---|',
        *_quality_rows(s),
        '',
        '| final net | pipeline stage | val mIoU | val mIoU, multi-scale + flip '
        '+ CRF test (stage `*_tta`; share of the bound under the same test) | '
        'trained on | published (VOC) |',
        '|---|---|---|---|---|---|',
        *_deeplab_rows(s),
        '',
    ]
    if osp.exists(osp.join(root, 'benchmarks', 'deeplabv2_gt_curve.png')):
        lines += [
            'DeepLabV2 on ground truth, val mIoU during training (the run and the '
            'one twice as long):',
            '',
            '![DeepLabV2 val curve](benchmarks/deeplabv2_gt_curve.png)',
            '',
        ]
    lines += _sample_lines('semantic', root)
    if missing:
        lines += [f"Stages not in this results file: {', '.join(missing)}.", '']
    not_run = [name for name in ('instances', 'seeds') if not others.get(name)]
    if not_run:
        lines += [
            'No results yet for the '
            + ' and '.join(f'{name} benchmark' for name in not_run)
            + ' ('
            + ', '.join(f'`python tools/benchmark.py --bench {n}`' for n in not_run)
            + ').',
            '',
        ]
    lines += [
        *_threshold_rows(s),
        *_per_class_rows(s),
        *_outline_rows(s),
        *_ptrecl_rows(s),
        *_instance_section(others.get('instances')),
        *(_sample_lines('instances', root) if others.get('instances') else []),
        *_seeds_section(others.get('seeds'), _m(s.get('deeplabv2_gt'), 'mIoU')),
        *(_sample_lines('seeds', root) if others.get('seeds') else []),
        *_walk_rows(s),
        '## Speed',
        '',
        '| stage | time |',
        '|---|---|',
        *_speed_rows(s),
        '',
        '## Machine and command',
        '',
        f"{m['cpu']}, {m['cores']} cores, torch {m['torch']} ({m['threads']} threads), "
        f"CUDA {'yes' if m['cuda'] else 'no'}, Python {m['python']}, commit "
        f"`{m['commit']}`, {m['date']}.",
        '',
        f"Regenerate every number with `{results['command']}` (`make setup` first; "
        '`--from STAGE` / `--only STAGE` rerun part of the pipeline, '
        '`--render-only` rewrites this file from the JSON).',
        '',
    ]
    return '\n'.join(lines)


def write_curve(results: dict, out: str) -> str | None:
    """Plot the val mIoU curves of the ground-truth DeepLabV2 runs."""
    curves = {
        name: results['stages'][name].get('val_curve')
        for name in ('deeplabv2_gt', 'deeplabv2_gt_2x')
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


#: What each benchmark's sample picture shows.
SAMPLE_CAPTIONS = {
    'semantic': 'CAM seeds (at their ground-truth-free background score), CAM + '
    'CRF, IRN, IRN + CRF, the pixels where IRN and CAM + CRF agree (cream: '
    'ignored), PtReCl pseudo masks, and the prediction of DeepLabV2 trained on '
    'that consensus',
    'instances': 'ground-truth instances, IRN and WISE pseudo instances, and '
    'Mask R-CNN predictions (score >= {draw_score}) of the runs on ground truth, '
    'IRN and WISE instances; each instance in its own colour',
    'seeds': "each method's seeds at its own ground-truth-free background score, "
    "and IRN's masks from SEAM's seeds where they ran",
}


def _sample_lines(bench: str, root: str) -> list[str]:
    path = samples_path(bench, root)
    if not osp.exists(path):
        return []
    from mmwsss.pipeline.report import DRAW_SCORE

    caption = SAMPLE_CAPTIONS[bench].format(draw_score=DRAW_SCORE)
    return [
        f'Sample train images ({bench} benchmark): {caption}.',
        '',
        f'![{bench} samples](benchmarks/{osp.basename(path)})',
        '',
    ]


def samples_path(bench: str, root: str = '.') -> str:
    """Where a benchmark's sample picture lives (beside its results)."""
    return osp.join(root, 'benchmarks', f'samples_{bench}.png')


def write_samples(results: dict, bench: str, data_root: str, out: str) -> str | None:
    """The benchmark's sample picture: the first train images, their ground
    truth and the :data:`SAMPLE_STAGES` outputs (seeds, pseudo masks,
    instances, the final nets' predictions) of the finished stages."""
    from mmwsss.datasets import split_ids
    from mmwsss.pipeline.report import write_sample_grid

    names, labels = SAMPLE_STAGES[bench]
    stages = {n: results['stages'][n] for n in names if _finished(results, n)}
    shown = [n for n in stages if n != 'thresholds']
    if not shown:
        return None
    ids = split_ids(data_root, 'train')[:NUM_SAMPLES]
    write_sample_grid(stages, data_root, results['work_dir'], ids, out, labels=labels)
    return out


def _finished(results: dict, name: str) -> bool:
    return bool((results['stages'].get(name) or {}).get('finished'))


def load_results(root: str = '.') -> tuple[dict, dict]:
    """The semantic benchmark's results and the others that exist."""
    found = {}
    for name, bench in BENCHES.items():
        path = osp.join(root, bench['results'])
        if osp.exists(path):
            with open(path) as f:
                found[name] = json.load(f)
    if 'semantic' not in found:
        raise FileNotFoundError(
            f"no {BENCHES['semantic']['results']}: run `python tools/benchmark.py` "
            'first'
        )
    semantic = found.pop('semantic')
    return semantic, found


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.samples_only:
        with open(args.results) as f:
            results = json.load(f)
        data_root = pipeline_config(args).data_root
        write_samples(results, args.bench, data_root, samples_path(args.bench))
    elif not args.render_only:
        results = run(args)
        os.makedirs(osp.dirname(args.results) or '.', exist_ok=True)
        with open(args.results, 'w') as f:
            json.dump(results, f, indent=1)
        if args.bench == 'semantic':
            curve = osp.join(osp.dirname(args.results), 'deeplabv2_gt_curve.png')
            write_curve(results, curve)
        data_root = pipeline_config(args).data_root
        write_samples(results, args.bench, data_root, samples_path(args.bench))
    semantic, others = load_results()
    with open(args.out, 'w') as f:
        f.write(render(semantic, others=others))
    print(f'wrote {args.out} from {sorted(["semantic", *others])}', file=sys.stderr)


if __name__ == '__main__':
    main()
