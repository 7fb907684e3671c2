"""tools/benchmark.py renders BENCHMARKS.md from the stage runner's results and
the bench pipelines' declarations of what it shows."""

import ast
import functools
import os.path as osp
import re

import pytest
from mmengine.config import Config

from mmwsss.datasets.fashionpaste import FASHIONPASTE_CLASSES

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PIPELINES = {
    'semantic': 'cam-irn-deeplabv2_effl0_fashionpaste-bench.py',
    'instances': 'instances_effl0_fashionpaste-bench.py',
    'seeds': 'seeds_effl0_fashionpaste-bench.py',
}


@functools.cache
def _without_previous(import_tool):
    """tools/benchmark.py with no previous bench's results: these render tests
    check their own synthetic results, not the committed old bench's column."""
    benchmark = import_tool('benchmark')
    benchmark.load_previous = lambda root='.': {}
    return benchmark


def _config(bench):
    return Config.fromfile(osp.join(ROOT, 'configs', 'pipelines', PIPELINES[bench]))


def _declaration(bench):
    """What the bench pipeline declares BENCHMARKS.md shows of it (the copy
    that tools/benchmark.py puts into the results file)."""
    return _config(bench).benchmark.to_dict()


def _labels(miou, **options):
    return dict(
        finished=True,
        kind='labels',
        metrics=dict(mIoU=miou, coverage=50.0, precision=90.0),
        label_options=options,
        per_class_iou=[miou] * 11,
        images_per_s=5.0,
        seconds=400.0,
    )


def _deeplab(miou):
    return dict(
        finished=True,
        kind='deeplabv2',
        metrics={'mIoU': miou},
        train_s=500.0,
        export_images_per_s=20.0,
    )


def _results():
    thresholds = dict(
        bg_score=0.4,
        fg_thr=0.6,
        bg_thr=0.2,
        alpha=1.8,
        alpha_low=1.1,
        alpha_high=7.2,
        fg_fraction=0.2,
    )
    stages = {
        'data': dict(
            finished=True,
            kind='dataset',
            counts=dict(train=2000, val=500),
            image_size=[160, 160],
            source='subset',
            metrics={'all_background_mIoU': 7.2},
            seconds=1.0,
        ),
        'cam': dict(
            finished=True,
            kind='cam',
            metrics={
                'seed/mIoU': 25.0,
                'seed/mIoU_best': 37.0,
                'seed/best_bg_score': 0.47,
            },
            val={'cls/mAP': 75.0},
            train_s=1200.0,
            export_images_per_s=4.6,
        ),
        'thresholds': dict(
            finished=True, kind='thresholds', thresholds=thresholds, rule='Otsu'
        ),
        'cam_labels': _labels(33.0, bg_score=0.4),
        'crf_labels': _labels(50.0, bg_score=0.4),
        'ir_labels': _labels(40.0, fg_thr=0.6, bg_thr=0.2),
        'irn': dict(
            finished=True,
            kind='irn',
            metrics={
                'mIoU': 45.0,
                'walk/mIoU': 44.0,
                'walk/mIoU_best': 56.0,
                'walk/best_bg_score': 0.55,
            },
            options={},
            resumed=True,
            train_s=100.0,
            export_images_per_s=4.0,
        ),
        'irn_labels': dict(
            _labels(52.0, bg_score=0.5), thresholds=dict(thresholds, bg_score=0.5)
        ),
        'deeplabv2_gt': dict(
            _deeplab(60.0),
            val_curve=[dict(step=100, mIoU=50.0), dict(step=300, mIoU=60)],
        ),
        'deeplabv2_irn': _deeplab(48.0),
        'label_quality': dict(
            finished=True,
            kind='label quality',
            seconds=30.0,
            scores={
                'crf_labels': dict(
                    mIoU=50.0,
                    interior_mIoU=70.0,
                    contour_F=40.0,
                    contour_P=45.0,
                    contour_R=36.0,
                ),
                'irn_labels': dict(
                    mIoU=52.0,
                    interior_mIoU=75.5,
                    contour_F=30.0,
                    contour_P=28.0,
                    contour_R=32.5,
                ),
            },
        ),
    }
    return dict(
        pipeline='configs/pipelines/p.py',
        seed=0,
        source='auto',
        stages=stages,
        planned=[*stages, 'affinitynet', 'walk'],
        machine=dict(
            cpu='cpu',
            cores=2,
            torch='2',
            threads=2,
            cuda=False,
            python='3.11',
            commit='abc',
            date='2026-12-01',
        ),
        command='python tools/benchmark.py --seed 0 --source auto',
        classes=list(FASHIONPASTE_CLASSES),
        benchmark=_declaration('semantic'),
    )


def _bare_results(metrics: dict, blocks: list) -> dict:
    """A minimal results file: finished stages with these metrics, and a
    declaration of ``blocks``."""
    return dict(
        machine=dict(
            cpu='x',
            cores=2,
            torch='2',
            threads=2,
            cuda=False,
            python='3',
            commit='c',
            date='d',
        ),
        command='cmd',
        stages={k: dict(finished=True, metrics=v) for k, v in metrics.items()},
        benchmark=dict(blocks=blocks),
    )


def test_render_rows_with_oracle_column(import_tool):
    text = _without_previous(import_tool).render(_results())
    # ground-truth-free setting, its mIoU, then the oracle (GT sweep) column
    assert '| CAM seeds | `cam_labels` | bg 0.40 | 33.0 | 37.0 (bg 0.47) |' in text
    assert '| CAM + CRF | `crf_labels` | bg 0.40 | 50.0 | - |' in text
    assert (
        '| IRN | `irn_labels` | walk bg 0.50; IR labels fg 0.60 / bg 0.20 | 52.0 |'
        in (text)
    )
    assert '56.0 (bg 0.55)' in text
    assert (
        'DeepLabV2 on IRN masks | `deeplabv2_irn` | val 48.0 (80% of ground truth)'
        in (text)
    )
    assert '| DeepLabV2 on ground truth | `deeplabv2_gt` | val 60.0 |' in text
    # stages that did not run are named, not silently dropped
    assert 'Stages not in this results file: affinitynet, walk.' in text
    assert 'DeepLabV2 on AffinityNet' not in text
    assert '`deeplabv2_gt` training (2000 images) | 500 s;' in text
    # a resumed run's time covers its last part only, and says so
    assert '`irn` training (2000 images) | 100 s (resumed run: its last part only)' in (
        text
    )
    # per-class IoU of each pseudo-mask stage that ran (no IRN + CRF here)
    assert '| class | CAM | CAM + CRF | IRN |' in text
    assert '| t-shirt | 33.0 | 50.0 | 52.0 |' in text
    # regions vs outlines, and IRN's difference to CAM + CRF computed from them
    assert '| IRN (`irn_labels`) | 52.0 | 75.5 | 30.0 | 28.0 / 32.5 |' in text
    assert (
        'IRN minus CAM + CRF: mIoU +2.0, interior mIoU +5.5, contour F -10.0.' in text
    )
    assert '| `label_quality` (label quality) | 30 s |' in text


def test_committed_benchmarks_md_is_the_rendering_of_the_committed_results(
    import_tool,
):
    benchmark = import_tool('benchmark')
    semantic, others = benchmark.load_results(ROOT)
    with open(osp.join(ROOT, 'BENCHMARKS.md')) as f:
        committed = f.read()
    rendered = benchmark.render(semantic, root=ROOT, others=others)
    assert rendered == committed, 'BENCHMARKS.md is not the rendering of results.json'


def test_curve_plot(import_tool, tmp_path):
    out = import_tool('benchmark').write_curve(_results(), str(tmp_path / 'c.png'))
    assert out and osp.getsize(out) > 1000


def _reclassify(miou, prototypes, top_m):
    return dict(
        finished=True,
        kind='ptrecl',
        metrics={'mIoU': miou},
        options={'model.top_m': top_m},
        inputs={'prototypes': prototypes, 'checkpoint': 'recovery'},
        train_s=0.0,
        export_images_per_s=30.0,
    )


def _prototypes(k, images, peak):
    return dict(
        finished=True,
        kind='ptrecl',
        options={'test_cfg.num_prototypes': k},
        metrics={
            'prototypes/seconds': 60.0,
            'prototypes/peak_rss_mb': peak,
            'prototypes/peak_above_start_mb': 300.0,
            'prototypes/bank_mb': 400.0,
            'prototypes/images': images,
            'prototypes/classes': 10,
        },
        train_s=0.0,
        export_images_per_s=30.0,
    )


def test_render_ptrecl_rows_ablations_and_memory(import_tool):
    results = _results()
    s = results['stages']
    s['recovery'] = dict(_deeplab(55.0), kind='ptrecl')
    s['prototypes'] = _prototypes(20, 2000, 1000.0)
    s['prototypes_k5'] = _prototypes(5, 2000, 990.0)
    s['prototypes_2x'] = _prototypes(20, 4000, 1030.0)
    s['reclassify'] = _reclassify(61.0, 'prototypes', 10)
    s['reclassify_k20_m5'] = _reclassify(60.0, 'prototypes', 5)
    s['reclassify_k5_m5'] = _reclassify(58.5, 'prototypes_k5', 5)
    s['irn_ptrecl'] = dict(
        s['irn'], metrics={'walk/mIoU_best': 62.0, 'walk/best_bg_score': 0.6}
    )
    s['ptrecl_labels'] = _labels(59.5, bg_score=0.45)
    s['deeplabv2_ptrecl'] = _deeplab(51.0)
    text = _without_previous(import_tool).render(results)
    assert '| PtReCl recovery net | `recovery` |' in text
    assert '| PtReCl reclassification map | `reclassify` | K 20, m 10;' in text
    # the PtReCl row: its GT-free walk cut, the oracle, its gain over IRN (52.0)
    assert (
        '| PtReCl | `ptrecl_labels` | walk bg 0.45 (Otsu) | 59.5 | 62.0 (bg 0.60) '
        '| +7.5 over IRN;' in text
    )
    assert (
        'DeepLabV2 on PtReCl masks | `deeplabv2_ptrecl` | val 51.0 (85% of ground '
        'truth) | - | masks of 59.5 train mIoU' in text
    )
    # the K x m grid from the stages' own options and inputs
    assert '| K / m | 5 | 10 |' in text
    assert '| 5 | 58.5 | - |' in text
    assert '| 20 | 60.0 | 61.0 |' in text
    assert '| `prototypes_2x` | 4000 | 60 s | 1030 MB | 300 MB | 400 MB |' in text
    assert 'Twice the images: peak memory +3.0%' in text
    assert '| t-shirt | 33.0 | 50.0 | 52.0 | 59.5 |' in text  # per-class column
    # the feature ablation: its own table, not a cell of the K x m grid
    assert 'zeros |' not in text  # one row only: no table
    s['prototypes_l3'] = _prototypes(20, 2000, 900.0)
    s['prototypes_l3']['metrics']['prototypes/feature_zero_fraction'] = 0.001
    s['reclassify_l3'] = _reclassify(66.0, 'prototypes_l3', 10)
    s['reclassify_l3']['options']['model.backbone.out_indices'] = [3]
    s['ptrecl_l3_labels'] = _labels(63.0, bg_score=0.5)
    text = _without_previous(import_tool).render(results)
    assert '| 20 | 60.0 | 61.0 |' in text
    assert (
        '| head conv (1280-d, ReLU6; the default) | `prototypes` | - | 61.0 | 59.5 |'
        in text
    )
    assert (
        '| level 3 (112-d, linear projection) | `prototypes_l3` | 0% | 66.0 | 63.0 |'
        in text
    )


def test_render_instance_rows(import_tool):
    results = _results()
    instances = dict(
        pipeline='configs/pipelines/i.py',
        command='python tools/benchmark.py --bench instances',
        stages={},
        benchmark=_declaration('instances'),
    )
    s = instances['stages']
    s['proposals'] = dict(finished=True, kind='proposals', images_per_s=4.5)
    s['wise'] = dict(
        finished=True,
        kind='wise',
        metrics={'instance/AP50': 20.5, 'instance/AP': 8.25},
        options=dict(min_score=0.41, nms_iou=0.3),
        instances=3100,
        skipped=dict(duplicate=40, peak_without_proposal=2, image_without_peak=0),
        seconds=100.0,
        images_per_s=20.0,
    )

    def det(segm50, voc50=None):
        metrics = {
            'coco/segm_mAP_50': segm50,
            'coco/segm_mAP': segm50 / 2,
            'coco/bbox_mAP_50': segm50 + 0.1,
        }
        if voc50 is not None:  # VOCMaskAPMetric's (runs that predate it: none)
            metrics.update(
                {'voc/AP25': voc50 + 10, 'voc/AP50': voc50, 'voc/AP75': voc50 / 2}
            )
            metrics['voc/ABO'] = 55.55
        return dict(
            finished=True,
            kind='mask_rcnn',
            metrics=metrics,
            train_s=900.0,
            export_images_per_s=10.0,
        )

    s['maskrcnn_gt'] = det(0.5)
    s['maskrcnn_wise'] = det(0.2, voc50=23.44)
    benchmark = _without_previous(import_tool)
    without = benchmark.render(results)
    assert 'No results yet for the instances benchmark and seeds benchmark' in without
    text = benchmark.render(results, others=dict(instances=instances))
    assert '## Instances: WISE and IRN into Mask R-CNN' in text
    assert (
        "| WISE | `wise` | PRM peaks above bg 0.41 (Otsu of the PRM maps); PRM's "
        'retrieval over every proposal; NMS 0.3 '
        '| 20.5 | 8.2 | - | 3100 instances; skipped: 40 duplicate, 2 '
        'peak_without_proposal |' in text
    )
    assert 'Proposals (stage `proposals`, selective search, 2 processes): 4.5' in text
    assert (
        '| Mask R-CNN on WISE instances | `maskrcnn_wise` | 20.0 (40% of ground '
        'truth) | 10.0 | 30.0 | 33.4 / 23.4 / 11.7, 55.5 | pseudo instances of AP50 '
        '20.5 on train |' in text
    )
    assert (
        '| Mask R-CNN on ground-truth instances | `maskrcnn_gt` | 50.0 | 25.0 | 60.0 '
        '| - | the fully supervised upper bound | - |' in text
    )
    assert 'No results yet for the seeds benchmark' in text


def test_render_seeds_section(import_tool):
    results = _results()

    def classifier(train_s, best=None):
        metrics = (
            {} if best is None else {'seed/mIoU_best': best, 'seed/best_bg_score': 0.5}
        )
        return dict(finished=True, kind='cam', metrics=metrics, train_s=train_s)

    seeds = dict(
        pipeline='configs/pipelines/s.py',
        command='python tools/benchmark.py --bench seeds',
        benchmark=_declaration('seeds'),
        stages=dict(
            cam=classifier(100.0, 40.0),
            seam=classifier(180.0, 45.0),
            oaa=classifier(110.0, 39.0),
            cam_labels=_labels(37.5, bg_score=0.42),
            seam_labels=_labels(44.0, bg_score=0.4),
            oaa_labels=_labels(41.0, bg_score=0.3),
            seed_quality=dict(
                finished=True,
                scores=dict(seam_labels=dict(contour_F=20.0, interior_mIoU=50.0)),
            ),
            seam_irn_labels=_labels(55.0, bg_score=0.5),
            # trained and exported, but its maps collapsed: no labels stage
            seam_hfpl=dict(
                classifier(150.0, 7.2),
                val={'cls/mAP': 10.2},
                metrics={
                    'seed/mIoU': 7.2,
                    'seed/mIoU_best': 7.2,
                    'seed/best_bg_score': 0.0,
                },
            ),
        ),
    )
    seeds['stages']['cam']['val'] = {'cls/mAP': 90.0}
    text = _without_previous(import_tool).render(results, others=dict(seeds=seeds))
    assert (
        '| SEAM + HFPL | `seam_hfpl` | - | - | 7.2 (bg 0.00) | - | - | not cut: val '
        "cls mAP 10.2 (CAM's 90.0) | - | - |" in text
    )
    assert 'Not cut (SEAM + HFPL): the classifier trained' in text
    assert '## Seeds: CAM, SEAM, OAA and HFPL' in text
    assert (
        '| SEAM | `seam` | 0.40 | 44.0 | 45.0 (bg 0.50) | 20.0 | 50.0 | - | 1.80x | '
        '55.4 |' in text
    )
    # OAA's seeds are its accumulated maps: the classifier's sweep is no oracle
    assert '| OAA (accumulated maps) | `oaa` | 0.30 | 41.0 | - |' in text
    assert 'IRN on the SEAM seeds (stage `seam_irn_labels`' in text


def test_sample_pictures_written_and_shown(import_tool, tmp_path):
    """A benchmark's sample picture: its stages' label maps (or instances) on
    the first train images, then a line of BENCHMARKS.md that shows it."""
    import json

    import numpy as np
    from PIL import Image

    from mmwsss.datasets import split_ids
    from mmwsss.datasets.fashionpaste import generate_fashionpaste
    from mmwsss.evaluation.instance_ap import encode_mask

    benchmark = import_tool('benchmark')
    data_root = str(tmp_path / 'data')
    generate_fashionpaste(
        data_root, size='tiny', seed=0, source='subset', progress=False
    )
    ids = split_ids(data_root, 'train')[: benchmark.NUM_SAMPLES]
    labels_dir, inst_dir = tmp_path / 'labels', tmp_path / 'wise'
    labels_dir.mkdir()
    inst_dir.mkdir()
    for image_id in ids:
        gt = Image.open(osp.join(data_root, 'SegmentationClass', image_id + '.png'))
        gt.save(labels_dir / f'{image_id}.png')
        mask = np.asarray(gt) > 0
        record = dict(
            file_name=image_id + '.jpg',
            height=mask.shape[0],
            width=mask.shape[1],
            instances=[dict(category_id=1, score=1.0, segmentation=encode_mask(mask))],
        )
        (inst_dir / f'{image_id}.json').write_text(json.dumps(record))
    labels = dict(finished=True, out_dir=str(labels_dir))
    wise = dict(
        finished=True,
        out_dir=str(inst_dir),
        outputs={'pseudo_instances': str(inst_dir)},
    )
    stages = {'irn_labels': labels, 'wise': wise}
    root = tmp_path / 'root'
    (root / 'benchmarks').mkdir(parents=True)
    semantic = benchmark.samples_path('semantic', str(root))
    out = benchmark.write_samples(
        dict(work_dir=str(tmp_path), stages=stages, benchmark=_declaration('semantic')),
        data_root,
        semantic,
    )
    assert out == semantic and Image.open(out).size[0] > 0
    wide = Image.open(out).size
    instances = benchmark.samples_path('instances', str(root))
    benchmark.write_samples(
        dict(
            work_dir=str(tmp_path), stages=stages, benchmark=_declaration('instances')
        ),
        data_root,
        instances,
    )
    # semantic: image, ground truth, irn_labels; instances: image, ground
    # truth, ground-truth instances, wise instances
    assert Image.open(instances).size[0] > wide[0]
    assert Image.open(instances).size[1] == wide[1]  # a row per image
    seeds = dict(stages=stages, benchmark=_declaration('seeds'))
    assert benchmark.write_samples(seeds, data_root, 'x') is None
    # the semantic picture is there, the seeds one is not
    text = benchmark.render(_results(), root=str(root))
    assert '![semantic samples](benchmarks/samples_semantic.png)' in text
    assert 'Sample train images (semantic benchmark): CAM seeds' in text
    assert 'samples_seeds.png' not in text


def test_benchmark_tools_name_no_stage():
    """Every row, title and note of BENCHMARKS.md is the pipelines': no stage
    of a bench pipeline is named in tools/benchmark.py or its renderer."""
    names = {s['name'] for bench in PIPELINES for s in _config(bench).stages}
    assert {'cam', 'irn_labels', 'walk', 'maskrcnn_gt', 'seam_hfpl'} <= names
    for tool in ('benchmark.py', 'benchmark_render.py'):
        with open(osp.join(ROOT, 'tools', tool)) as f:
            tree = ast.parse(f.read())
        texts = [
            node.value
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
        ]
        # words, paths (a pipeline's file name) as one word
        named = {w.strip('.') for text in texts for w in re.findall(r'[\w./-]+', text)}
        assert not named & names, (tool, sorted(named & names))


def test_template_language(import_tool):
    """Fields are expressions over the finished stages; a value that is not
    there fails the template, a choice takes its first alternative that
    fills, a bool field is a condition."""
    render = import_tool('benchmark').renderer
    results = dict(
        stages=dict(
            a=dict(finished=True, metrics={'x/y': 0.5, 'n': 0}, items=[1, 2]),
            b=dict(finished=False, metrics={'x/y': 1.0}),
        )
    )
    names = render.Names(results, {})
    assert render.fill("{100 * a.metrics['x/y']:.1f}%", names) == '50.0%'
    assert render.fill('{a.items[1]}', names) == '2'
    with pytest.raises(render.Missing):
        render.fill("{b.metrics['x/y']}", names)  # b did not finish
    with pytest.raises(render.Missing):
        render.fill('{1 / a.metrics.n}', names)
    choice = [["{b.metrics['x/y']:.1f}", "{a.metrics['x/y']:.2f}", '-']]
    assert render.fill(['v ', *choice], names) == 'v 0.50'
    assert render.fill(['v', ['{a.metrics.absent}', '']], names) == 'v'
    assert render.fill('ok{a.metrics.n < 1}', names) == 'ok'
    with pytest.raises(render.Missing):
        render.fill('ok{a.metrics.n > 1}', names)
    assert render.evaluate('has(a) and not has(b)', names) is True
    assert render.evaluate("join(', ', [has(a) and 'A', has(b) and 'B'])", names) == 'A'
    assert (
        render.evaluate(
            'tally(dict_of_counts)', names.bind(dict_of_counts={'p': 2, 'q': 0})
        )
        == '2 p'
    )
    with pytest.raises(ValueError, match='not in the template language'):
        render.evaluate('a.__class__()', names)


def test_collect_writes_the_declaration_into_the_results(
    import_tool, tmp_path, monkeypatch
):
    """The run path (here --collect, no stage run): the finished manifests of
    the pipeline's work dir and the pipeline's declaration go into the
    results file, from which BENCHMARKS.md renders without the config."""
    import json

    from mmwsss.pipeline import MANIFEST, pipeline_stages

    benchmark = import_tool('benchmark')
    manifest = dict(finished=True, kind='cam', metrics={'seed/mIoU': 30.0})
    (tmp_path / 'cam').mkdir()
    (tmp_path / 'cam' / MANIFEST).write_text(json.dumps(manifest))
    (tmp_path / 'oaa').mkdir()
    (tmp_path / 'oaa' / MANIFEST).write_text(json.dumps(dict(finished=False)))
    out, md = tmp_path / 'results.json', tmp_path / 'B.md'
    monkeypatch.chdir(ROOT)  # the other benchmarks' committed results
    benchmark.main(
        ['--bench', 'seeds', '--collect', '--work-dir', str(tmp_path)]
        + ['--results', str(out), '--out', str(md)]
    )
    results = json.loads(out.read_text())
    assert list(results['stages']) == ['cam']
    assert _as_collected(results['stages']['cam']) == manifest
    # checked as a rerun would be: a manifest without the stage's record is
    # not what the pipeline makes now
    assert 'its settings changed' in results['stages']['cam']['outdated']
    planned = [s['name'] for s in pipeline_stages(_config('seeds'))]
    assert results['planned'] == planned
    assert results['benchmark'] == _declaration('seeds')
    assert md.read_text().startswith('# BENCHMARKS\n')


def _as_collected(stage: dict) -> dict:
    """A collected manifest without the collect's ``outdated`` check (the
    fake manifests here hold no record of the pipeline's stage)."""
    return {k: v for k, v in stage.items() if k != 'outdated'}


def _work_dir_with_cam(work):
    """A work dir whose one finished stage is ``cam``; its manifest."""
    import json

    from mmwsss.pipeline import MANIFEST

    manifest = dict(finished=True, kind='cam', metrics={'seed/mIoU': 30.0})
    (work / 'cam').mkdir(parents=True)
    (work / 'cam' / MANIFEST).write_text(json.dumps(manifest))
    return manifest


def test_collect_refuses_to_drop_stages_the_results_hold(
    import_tool, tmp_path, monkeypatch
):
    """A collect from a work dir that lacks finished stages of the results
    file (a new machine, a removed folder) leaves the file as it is and says
    which stages it would lose; --replace writes it anyway."""
    import json

    benchmark = import_tool('benchmark')
    manifest = _work_dir_with_cam(tmp_path / 'work')
    out, md = tmp_path / 'results.json', tmp_path / 'B.md'
    irn = dict(finished=True, kind='irn', metrics={'mIoU': 50.0})
    before = json.dumps(dict(stages=dict(cam=manifest, irn=irn)))
    out.write_text(before)
    monkeypatch.chdir(ROOT)
    argv = ['--bench', 'seeds', '--collect', '--work-dir', str(tmp_path / 'work')]
    argv += ['--results', str(out), '--out', str(md)]
    with pytest.raises(SystemExit, match='lacks: irn'):
        benchmark.main(argv)
    assert out.read_text() == before and not md.exists()
    benchmark.main([*argv, '--replace'])
    stages = json.loads(out.read_text())['stages']
    assert list(stages) == ['cam'] and _as_collected(stages['cam']) == manifest


def test_collect_merges_stages_the_results_hold(import_tool, tmp_path, monkeypatch):
    """--merge keeps a finished stage of the results file that the work dir
    lacks, checked against this work dir (here: the record it holds is not
    the pipeline's any more) and marked with where it was collected."""
    import json

    benchmark = import_tool('benchmark')
    manifest = _work_dir_with_cam(tmp_path / 'work')
    out, md = tmp_path / 'results.json', tmp_path / 'B.md'
    seam = dict(finished=True, kind='seam', metrics={'mIoU': 50.0})
    machine = dict(cpu='old CPU', cores=2, threads=2, commit='abc', date='d')
    out.write_text(json.dumps(dict(stages=dict(seam=seam), machine=machine)))
    monkeypatch.chdir(ROOT)
    argv = ['--bench', 'seeds', '--collect', '--work-dir', str(tmp_path / 'work')]
    benchmark.main([*argv, '--results', str(out), '--out', str(md), '--merge'])
    stages = json.loads(out.read_text())['stages']
    assert _as_collected(stages['cam']) == manifest
    assert stages['seam']['metrics'] == seam['metrics']
    assert stages['seam']['merged']['collected'] == machine
    assert 'its settings changed' in stages['seam']['merged']['stale']
    with pytest.raises(SystemExit):  # --merge and --replace exclude each other
        benchmark.parse_args([*argv, '--merge', '--replace'])


def test_render_marks_rows_of_stages_kept_from_another_run(import_tool):
    """A table row that shows a kept stage not made from the stages beside it
    is marked, the reason is printed under the table, and the machine section
    lists every kept stage with where it was collected."""
    render = import_tool('benchmark_render').render
    table = dict(
        kind='table',
        header=['seeds', 'mIoU'],
        rows=[
            ['CAM', '{cam.metrics.mIoU:.1f}'],
            ['SEAM', '{seam.metrics.mIoU:.1f}'],
            ['OAA', '{oaa.metrics.mIoU:.1f}'],
        ],
    )
    results = _bare_results(dict(cam={'mIoU': 40.0}, seam={'mIoU': 45.0}), [table])
    results['stages']['oaa'] = dict(
        finished=True,
        metrics={'mIoU': 42.0},
        merged=dict(collected=dict(cpu='EPYC', cores=2, threads=2), stale=[]),
    )
    text = render({'main': results})
    assert '| SEAM | 45.0 |' in text and '| OAA | 42.0 |' in text
    assert '†' not in text
    assert (
        'keeps stages of earlier collects' in text
        and '`oaa` (collected on EPYC' in text
    )
    assert 'Each matches the stages of this work dir' in text
    results['stages']['seam']['merged'] = dict(
        collected=dict(cpu='Xeon', cores=2, threads=2, commit='abc'),
        stale=['made from another run of `cam`'],
    )
    text = render({'main': results})
    assert '| SEAM † | 45.0 |' in text and '| CAM | 40.0 |' in text
    assert '| OAA | 42.0 |' in text
    assert (
        '`seam`: made from another run of `cam` (kept from the collect on Xeon, '
        '2 cores, 2 threads, commit `abc`, its work dir gone)' in text
    )
    assert (
        'Not made from the stages shown beside them († in the tables): `seam`.' in text
    )


def test_render_previous_column(import_tool):
    """A table's ``previous`` cell is filled again from the previous run's
    results (the old bench) into a column after it; '-' where that run lacks
    the stage; no column without a previous run."""
    render = import_tool('benchmark_render').render

    def results(**stages):
        table = dict(
            kind='table',
            header=['masks', 'mIoU'],
            rows=[['CAM', '{cam.metrics.mIoU:.1f}'], ['IRN', '{irn.metrics.mIoU:.1f}']],
            previous=1,
        )
        return _bare_results(stages, [table])

    new = results(cam={'mIoU': 40.0}, irn={'mIoU': 55.5})
    old = results(cam={'mIoU': 37.5})
    text = render({'main': new}, previous={'main': old}, previous_title='old bench')
    assert '| masks | mIoU | mIoU, old bench |' in text
    assert '| CAM | 40.0 | 37.5 |' in text
    assert '| IRN | 55.5 | - |' in text
    alone = render({'main': new})
    assert '| masks | mIoU |' in alone and 'old bench' not in alone
    assert '| CAM | 40.0 |' in alone


def test_render_rows_the_new_run_has_not_reached(import_tool):
    """While the new bench runs, a row that only the previous run fills keeps
    its what / stage / published cells and the previous value, with 'not run
    yet' in the current cell and '-' in the cells that describe the new run."""
    render = import_tool('benchmark_render').render

    def results(when=None, **stages):
        rows = [
            [
                'CAM',
                '`cam`',
                'bg {cam.metrics.bg:.2f}',
                '{cam.metrics.mIoU:.1f}',
                'CAM: 48.3',
            ],
            dict(
                cells=[
                    'IRN',
                    '`irn`',
                    'bg {irn.metrics.bg:.2f}',
                    '{irn.metrics.mIoU:.1f}',
                    'IRN: 66.5',
                ],
                when='irn.metrics.bg > 0.2',
            ),
        ]
        table = dict(
            kind='table',
            header=['masks', 'stage', 'setting', 'mIoU', 'published'],
            rows=rows,
            previous=3,
        )
        return _bare_results(stages, [table])

    new = results(cam={'mIoU': 40.0, 'bg': 0.42})
    old = results(cam={'mIoU': 37.5, 'bg': 0.3}, irn={'mIoU': 50.5, 'bg': 0.51})
    text = render({'main': new}, previous={'main': old}, previous_title='old bench')
    assert '| CAM | `cam` | bg 0.42 | 40.0 | 37.5 | CAM: 48.3 |' in text
    assert '| IRN | `irn` | - | not run yet | 50.5 | IRN: 66.5 |' in text
    # a row that neither run fills, or that the previous run's condition drops,
    # is left out
    old = results(cam={'mIoU': 37.5, 'bg': 0.3}, irn={'mIoU': 50.5, 'bg': 0.1})
    text = render({'main': new}, previous={'main': old}, previous_title='old bench')
    assert '`irn`' not in text


def test_render_repeated_stages_as_mean_and_spread(import_tool):
    """Stages run again at other seeds ('{name}@{seed}') render as mean ± sd;
    arithmetic pairs the runs of one seed; a stage with fewer runs says how
    many; a stage run once renders as before."""
    render = import_tool('benchmark_render').render
    stages = {
        'cam': {'mIoU': 40.0},
        'cam@1': {'mIoU': 42.0},
        'cam@2': {'mIoU': 44.0},
        'irn': {'mIoU': 50.0},
        'irn@1': {'mIoU': 56.0},
        'gt': {'mIoU': 70.0},
        'crf': {'mIoU': 48.0},
        'crf@1': {'mIoU': 57.0},
    }
    results = _bare_results(
        stages,
        [
            'CAM {cam.metrics.mIoU:.1f}; IRN {irn.metrics.mIoU:.1f}; '
            'gain {irn.metrics.mIoU - cam.metrics.mIoU:+.1f}; '
            'bound {gt.metrics.mIoU:.1f}; share '
            '{100 * cam.metrics.mIoU / gt.metrics.mIoU:.0f}%',
            'above 41{cam.metrics.mIoU > 41}',
            'vs crf {irn.metrics.mIoU - crf.metrics.mIoU:+.1f}',
            'above 43{cam.metrics.mIoU > 43}',
        ],
    )
    text = render({'main': results})
    # cam: 40, 42, 44 -> 42 ± 2; irn: 50, 56 -> 53 ± 4.2 (2 of 3 runs);
    # gain by seed: 10, 14 -> 12 ± 2.8 (2 runs)
    assert (
        'CAM 42.0 ± 2.0; IRN 53.0 ± 4.2 (2 runs); gain +12.0 ± 2.8 (2 runs); '
        'bound 70.0; share 60 ± 3%' in text
    )
    assert 'above 41' in text and 'above 43' not in text
    # a difference under two of its sds is a tie: 2 and -1 -> 0.5 ± 2.1
    assert 'vs crf +0.5 ± 2.1 (tie) (2 runs)' in text
    assert 'gain +12.0 ± 2.8 (2 runs)' in text  # over two sds: no tie


def test_render_a_stage_whose_spread_ran_before_its_own_run(import_tool):
    """Repeats at other seeds whose own run (seed 0) has not finished yet
    render as their mean ± sd with the number of runs, instead of "not run";
    the missing list no longer names the stage."""
    render = import_tool('benchmark_render').render
    stages = {
        'cam': {'mIoU': 40.0},
        'cam@1': {'mIoU': 42.0},
        'cam@2': {'mIoU': 44.0},
        'wise@1': {'AP50': 30.0},
        'wise@2': {'AP50': 34.0},
    }
    results = _bare_results(
        stages,
        [
            'WISE {wise.metrics.AP50:.1f}; over CAM '
            '{wise.metrics.AP50 - cam.metrics.mIoU:+.1f}',
            dict(kind='missing'),
        ],
    )
    results['planned'] = ['cam', 'wise', 'maskrcnn']
    text = render({'main': results})
    # wise: 30, 34 -> 32 ± 2.8 (2 of 3 runs); paired by seed: -12, -10
    assert 'WISE 32.0 ± 2.8 (2 runs); over CAM -11.0 ± 1.4 (2 runs)' in text
    assert 'Stages not in this results file: maskrcnn.' in text


def _per_class_columns() -> dict:
    """A ``columns`` block of the CAM's and IRN's per-class values."""
    return dict(
        kind='columns',
        stub='class',
        rows='results.classes',
        columns={'CAM': 'cam.metrics.per_class', 'IRN': 'irn.metrics.per_class'},
        cell='{item:.1f}',
    )


def test_render_columns_of_a_repeated_stage_as_mean_and_spread(import_tool):
    """A ``columns`` block (per-class values) of a stage run at several seeds
    renders each class as mean ± sd over them; a stage run once as before."""
    render = import_tool('benchmark_render').render
    block = _per_class_columns()
    results = _bare_results(
        {
            'cam': {'per_class': [10.0, 20.0]},
            'cam@1': {'per_class': [14.0, 20.0]},
            'irn': {'per_class': [50.0, 60.0]},
        },
        [block],
    )
    results['classes'] = ['bag', 'boot']
    text = render({'main': results})
    assert '| class | CAM | IRN |' in text
    # a value the same at every seed (an image count) has no spread to show
    assert '| boot | 20.0 | 60.0 |' in text
    assert '| bag | 12.0 ± 2.8 | 50.0 |' in text


def test_render_marks_stale_kept_stages_in_columns_and_grids(import_tool):
    """A ``columns`` block marks the title of a column read from a stale kept
    stage (also where only its run at another seed is stale), a ``grid`` the
    cell of one, each with the reason under the table; fresh ones stay bare."""
    render = import_tool('benchmark_render').render
    columns = _per_class_columns()
    grid = dict(
        kind='grid',
        stub='K',
        stages=['proto_k5', 'proto_k10'],
        row='item.metrics.k',
        col="'mIoU'",
        cell='{item.metrics.mIoU:.1f}',
    )
    results = _bare_results(
        {
            'cam': {'per_class': [10.0, 20.0]},
            'cam@1': {'per_class': [14.0, 20.0]},
            'irn': {'per_class': [50.0, 60.0]},
            'proto_k5': {'k': 5, 'mIoU': 30.0},
            'proto_k10': {'k': 10, 'mIoU': 31.0},
        },
        [columns, grid],
    )
    results['classes'] = ['bag', 'boot']
    text = render({'main': results})
    assert '| class | CAM | IRN |' in text and '| 10 | 31.0 |' in text
    assert '†' not in text
    stale = dict(collected=dict(commit='abc'), stale=['its code changed'])
    results['stages']['cam@1']['merged'] = stale
    results['stages']['proto_k10']['merged'] = stale
    text = render({'main': results})
    assert '| class | CAM † | IRN |' in text
    assert '| 10 | 31.0 † |' in text and '| 5 | 30.0 |' in text
    note = '(kept from the collect on commit `abc`, its work dir gone)'
    assert f'`cam@1`: its code changed {note}' in text
    assert f'`proto_k10`: its code changed {note}' in text
    # the mean over seeds reads the sound run only where there is one
    assert '| bag | 10.0 (1 run) |' in text


def test_render_a_mean_over_seeds_leaves_out_the_outdated_runs(import_tool):
    """Runs of a repeated stage that a config change left behind (outdated
    in their work dir) are left out of its mean where another run is sound,
    and named under the table; where every run is outdated, all are read,
    each marked."""
    render = import_tool('benchmark_render').render
    table = dict(
        kind='table',
        header=['stage', 'mIoU'],
        rows=[['IRN', '{irn.metrics.mIoU:.1f}'], ['CAM', '{cam.metrics.mIoU:.1f}']],
    )
    stages = {
        'cam': {'mIoU': 40.0},
        'cam@1': {'mIoU': 42.0},
        'cam@2': {'mIoU': 44.0},
        'irn': {'mIoU': 50.0},
        'irn@1': {'mIoU': 54.0},
        'irn@2': {'mIoU': 60.0},
    }
    results = _bare_results(stages, [table])
    assert '| IRN | 54.7 ± 5.0 |' in render({'main': results})
    old = ['its config file changed']
    results['stages']['irn']['outdated'] = old
    results['stages']['irn@1']['outdated'] = old
    text = render({'main': results})
    assert '| IRN † | 60.0 (1 run) |' in text and '| CAM | 42.0 ± 2.0 |' in text
    assert '`irn`: its config file changed (in its work dir, to be rerun)' in text
    assert '`irn@1`: its config file changed' in text
    results['stages']['irn@2']['outdated'] = old
    text = render({'main': results})
    assert '| IRN † | 54.7 ± 5.0 |' in text
    assert '`irn@2`: its config file changed (in its work dir, to be rerun)' in text


def test_render_a_row_reads_its_stages_at_the_same_seeds(import_tool):
    """A row that shows a net beside the masks it trained on reads both at
    the same seeds: the seeds where both have a sound run, else where both
    ran, so that the masks shown are the ones the nets shown trained on."""
    render = import_tool('benchmark_render').render
    row = ['DL', '{dl.metrics.mIoU:.1f} on masks of {irn.metrics.mIoU:.1f}']
    table = dict(kind='table', header=['net', 'val'], rows=[row])
    stages = {
        'irn': {'mIoU': 50.0},
        'irn@1': {'mIoU': 52.0},
        'irn@2': {'mIoU': 60.0},
        'dl': {'mIoU': 40.0},
        'dl@1': {'mIoU': 42.0},
    }
    results = _bare_results(stages, [table])
    # the masks' seed 2 has no net yet: both at seeds 0 and 1
    both = '41.0 ± 1.4 (2 runs) on masks of 51.0 ± 1.4 (2 runs)'
    assert f'| DL | {both} |' in render({'main': results})
    # seeds 0 and 1 outdated (a config change), seed 2 rerun for both
    results['stages']['dl@2'] = dict(finished=True, metrics={'mIoU': 48.0})
    for name in ('irn', 'irn@1', 'dl', 'dl@1'):
        results['stages'][name]['outdated'] = ['its config file changed']
    text = render({'main': results})
    assert '| DL † | 48.0 (1 run) on masks of 60.0 (1 run) |' in text
    # the masks' sound run has no net: the seeds where both ran, old ones
    del results['stages']['dl@2']
    assert f'| DL † | {both} |' in render({'main': results})


def test_spread_runs_the_main_chain_at_another_seed_and_joins_the_render(
    import_tool, tmp_path
):
    """--seed N: only the pipeline's spread stages, on the set generated at
    N and training at N, into -seedN folders and results_seedN.json, whose
    stages join the main results as '{name}@N'."""
    import json

    benchmark = import_tool('benchmark')
    args = benchmark.parse_args(['--seed', '2'])
    assert args.results == 'benchmarks/results_seed2.json'
    cfg = benchmark.pipeline_config(args)
    names = [s['name'] for s in cfg.stages]
    assert names == list(_config('semantic').spread['stages'])
    by_name = {s['name']: s for s in cfg.stages}
    assert by_name['cam']['cfg_options'] == {'randomness.seed': 2}
    assert 'randomness.seed' not in by_name['thresholds'].get('cfg_options', {})
    assert cfg.stage_options['data']['seed'] == 2
    assert cfg.data_root.endswith('-seed2') and cfg.work_dir.endswith('-seed2')
    (tmp_path / 'benchmarks').mkdir()
    main = dict(stages={'cam': dict(finished=True)}, benchmark=dict(blocks=[]))
    seed = dict(stages={'cam': dict(finished=True, seed=2)})
    for name, results in (('results.json', main), ('results_seed2.json', seed)):
        (tmp_path / 'benchmarks' / name).write_text(json.dumps(results))
    semantic, _ = benchmark.load_results(str(tmp_path))
    assert semantic['stages']['cam@2'] == dict(finished=True, seed=2)


def test_the_instance_spread_reuses_the_main_chains_runs_at_its_seed(import_tool):
    """--bench instances --seed N runs PRM / WISE / Mask R-CNN on the set and
    work dir of the semantic spread at N, whose data, CAM and IRN stages it
    shares: defined and seeded alike there, so they are not trained again."""
    benchmark = import_tool('benchmark')
    configs = {
        bench: benchmark.pipeline_config(
            benchmark.parse_args(['--bench', bench, '--seed', '1'])
        )
        for bench in ('semantic', 'instances')
    }
    semantic, instances = configs['semantic'], configs['instances']
    assert instances.work_dir == semantic.work_dir
    assert instances.work_dir.endswith('-seed1')
    assert instances.data_root == semantic.data_root
    assert instances.stage_options['data'] == semantic.stage_options['data']
    by_name = {s['name']: s for s in semantic.stages}
    shared = [s for s in instances.stages if s['name'] in by_name]
    assert [s['name'] for s in shared] == [
        'data',
        'cam',
        'thresholds',
        'ir_labels',
        'irn',
    ]
    for stage in shared:
        assert stage == by_name[stage['name']], stage['name']
    own = {s['name']: s for s in instances.stages if s['name'] not in by_name}
    assert own['prm']['cfg_options'] == {'randomness.seed': 1}
    assert own['maskrcnn_wise']['cfg_options'] == {'randomness.seed': 1}


def test_a_spread_and_a_repeat_at_the_same_seed_are_refused(import_tool, tmp_path):
    """A pipeline's repeat (training seed N on its own set) and its spread
    (the set generated at N) would both name a stage '{name}@N': refused
    when the spread is configured and when the results are joined, instead
    of one run silently replacing the other."""
    import json

    benchmark = import_tool('benchmark')
    cfg = _config('seeds')
    cfg.spread = dict(seeds=(1, 2), stages=['data', 'cam'])
    with pytest.raises(ValueError, match=r'cam@2'):
        benchmark.spread_config(cfg, 2)
    (tmp_path / 'benchmarks').mkdir()
    main = dict(
        stages={'cam': dict(finished=True), 'cam@2': dict(finished=True, seed=2)},
        benchmark=dict(blocks=[]),
    )
    seed = dict(stages={'cam': dict(finished=True, generator_seed=2)})
    for name, results in (('results.json', main), ('results_seed2.json', seed)):
        (tmp_path / 'benchmarks' / name).write_text(json.dumps(results))
    with pytest.raises(ValueError, match=r"'cam@2'.*training seed 2"):
        benchmark.load_results(str(tmp_path))


def test_a_spread_collect_leaves_the_bench_pictures(import_tool, tmp_path, monkeypatch):
    """The sample picture and the val curve are of the bench's own run: a
    collect at another seed writes its results file and draws neither (it
    redrew the committed seed-0 picture from the seed-1 work dir)."""
    import json

    benchmark = import_tool('benchmark')
    drawn = []
    monkeypatch.setattr(benchmark, 'write_samples', lambda *a: drawn.append('samples'))
    monkeypatch.setattr(benchmark, 'write_curve', lambda *a: drawn.append('curve'))
    manifest = _work_dir_with_cam(tmp_path / 'work')
    monkeypatch.chdir(ROOT)
    out = tmp_path / 'results_seed1.json'
    argv = ['--collect', '--work-dir', str(tmp_path / 'work'), '--results', str(out)]
    benchmark.main([*argv, '--seed', '1', '--out', str(tmp_path / 'B.md')])
    stages = json.loads(out.read_text())['stages']
    assert list(stages) == ['cam'] and _as_collected(stages['cam']) == manifest
    assert drawn == []
    benchmark.main([*argv, '--out', str(tmp_path / 'B.md')])
    assert drawn == ['curve', 'samples']


def test_render_a_json_file_as_a_table(import_tool, tmp_path):
    """A ``json`` block binds ``file`` to a JSON file under the root (the data
    statistics, the export sizes) and is left out where the file is absent."""
    import json

    render = import_tool('benchmark_render').render
    block = dict(
        kind='json',
        file='benchmarks/stats.json',
        blocks=[
            dict(
                kind='table',
                header=['set', 'cells'],
                rows=[dict(each='file', cells=['{item.name}', '{item.cells:.1f}'])],
            )
        ],
    )
    results = _bare_results({}, [block])
    assert '| set |' not in render({'main': results}, root=str(tmp_path))
    (tmp_path / 'benchmarks').mkdir()
    stats = [dict(name='v2', cells=8.875), dict(name='voc', cells=8.5)]
    (tmp_path / 'benchmarks' / 'stats.json').write_text(json.dumps(stats))
    text = render({'main': results}, root=str(tmp_path))
    assert '| v2 | 8.9 |' in text and '| voc | 8.5 |' in text


def test_render_speed_with_iteration_times_and_the_main_chain(import_tool):
    """A training stage shows its iterations summed over all parts and at their
    median; the chain's total at each seed is judged at the median against the
    budget, and a seed whose chain is incomplete names what it lacks."""
    render = import_tool('benchmark_render').render
    chain = dict(title='Chain', stages=['data', 'cam'], budget_h=0.5, caption='C.')
    block = dict(kind='speed', images='data.counts.train', exclude=[], chain=chain)
    results = _bare_results({}, [block])
    cam = dict(
        finished=True,
        kind='cam',
        train_s=1000.0,
        seconds=1100.0,  # 100 s of export
        export_images_per_s=4.0,
        resumed=True,
        iterations=dict(count=100, sum_s=2000.0, median_s=5.0),
    )
    data = dict(finished=True, kind='dataset', seconds=6.0, counts=dict(train=50))
    results['stages'] = {'data': data, 'cam': cam, 'data@1': data}
    text = render({'main': results})
    assert (
        '| `cam` training (50 images) | 1000 s (resumed run: its last part only); '
        '100 iterations: 33 min summed over all parts, 8 min at their median '
        '5.00 s; test / export 4.00 images/s |'
    ) in text
    # seed 0: 6 + 2000 + 100 s summed; 6 + 100 * 5 + 100 at the median
    assert (
        'C. Chain, seed 0: 0.58 h summed, 0.17 h with each training at its '
        'median iteration time: within the budget of 0.5 h. '
        'Chain, seed 1: not complete (to run: cam@1).'
    ) in text
    chain['budget_h'] = 0.1
    assert 'over the budget of 0.1 h' in render({'main': results})


def test_render_names_the_machines_when_stages_ran_on_several(import_tool):
    """Stages timed on another machine than the rest (a bench resumed on a new
    machine) carry their machine in the table of times, and the chain says
    that its total adds times of different machines; one machine: no tags."""
    render = import_tool('benchmark_render').render
    chain = dict(title='Chain', stages=['data', 'cam'], budget_h=1.0)
    block = dict(kind='speed', images='data.counts.train', exclude=[], chain=chain)
    results = _bare_results({}, [block])
    fast = dict(results['machine'], cpu_id='family 25, model 1')
    slow = dict(fast, cpu_id='family 23, model 1')
    data = dict(finished=True, kind='dataset', seconds=6.0, counts=dict(train=50))
    cam = dict(finished=True, kind='cam', train_s=100.0, export_images_per_s=4.0)
    results['machine'] = fast
    results['stages'] = {
        'data': dict(data, machine=fast),
        'cam': dict(cam, machine=fast),
    }
    text = render({'main': results})
    assert '(on ' not in text and 'different machines' not in text
    results['stages']['cam']['machine'] = slow
    text = render({'main': results})
    assert (
        '| `data` (dataset) | 6 s (on x (family 25, model 1), 2 cores, 2 threads) |'
        in text
    )
    assert (
        'export 4.00 images/s (on x (family 23, model 1), 2 cores, 2 threads) |' in text
    )
    assert 'its stages ran on different machines: on x (family 23' in text
    # the same two on the one machine that is not the collecting one
    results['stages']['data']['machine'] = slow
    text = render({'main': results})
    assert 'time (on x (family 23, model 1), 2 cores, 2 threads): within' in text
    # a stage that predates the record, kept from a collect elsewhere: named
    # with where that collect ran
    results['stages']['data']['machine'] = fast
    del results['stages']['cam']['machine']
    results['stages']['cam']['merged'] = dict(collected=slow, stale=[])
    text = render({'main': results})
    assert (
        'export 4.00 images/s (collected on x (family 23, model 1), 2 cores, '
        '2 threads) |' in text
    )


def test_seeds_bench_tables_the_cam_recipe_at_each_training_seed(import_tool):
    """The seeds bench's recipe table: a row per training seed that ran, seed
    0 from the semantic bench's shared `cam` where the seeds results lack it,
    with val mAP, chance, the learned share and the machine."""
    render = import_tool('benchmark_render').render

    def cam(m_ap, learned, **extra):
        return dict(
            finished=True,
            kind='cam',
            val={'cls/mAP': m_ap, 'cls/mAP_chance': 15.0},
            learned=learned,
            metrics={'seed/mIoU_best': 44.0},
            **extra,
        )

    semantic = _bare_results({}, [dict(kind='bench', bench='seeds')])

    def labels(miou):
        return dict(finished=True, kind='labels', metrics=dict(mIoU=miou))

    semantic['stages'] = {'cam': cam(71.2, 0.66), 'cam_labels': labels(43.0)}
    seeds = _bare_results({}, _declaration('seeds')['blocks'])
    seeds['stages'] = {
        'cam@2': cam(20.0, 0.06, machine=dict(cpu_id='family 23')),
        'cam@4': cam(70.0, 0.65, machine=dict(cpu_id='family 6')),
        'cam_labels@4': labels(41.5),
    }
    text = render({'semantic': semantic, 'seeds': seeds})
    # the seeds at their own cut: '-' where the repeat's labels have not run
    assert '| 0 | `cam` | 71.2 | 15.0 | 66% | 44.0 | 43.0 | not recorded |' in text
    assert '| 2 | `cam@2` | 20.0 | 15.0 | 6% | 44.0 | - | family 23 |' in text
    assert '| 4 | `cam@4` | 70.0 | 15.0 | 65% | 44.0 | 41.5 | family 6 |' in text
    assert '`cam@1`' not in text and '`cam@3`' not in text


def test_keep_code_reaches_the_pipeline_run(import_tool, monkeypatch):
    """--keep-code is passed on to run_pipeline (which reads ['all']), so a
    spread run resumes across a kept code change like the pipelines do."""
    import mmwsss.datasets
    import mmwsss.pipeline

    benchmark = import_tool('benchmark')
    calls = []
    monkeypatch.setattr(
        mmwsss.pipeline, 'run_pipeline', lambda cfg, **kw: calls.append(kw) or {}
    )
    monkeypatch.setattr(mmwsss.datasets, 'dataset_classes', lambda root: [])
    for argv, kept in (
        (['--keep-code', 'all'], ['all']),
        (['--keep-code', 'cam'], ['cam']),
    ):
        benchmark.run(benchmark.parse_args(['--seed', '1', *argv]))
        assert calls[-1]['keep_code'] == kept
    benchmark.run(benchmark.parse_args(['--seed', '1']))
    assert list(calls[-1]['keep_code']) == []


def test_render_a_stage_run_once_against_the_run_it_was_made_from(import_tool):
    """A field that reads a stage run once (PtReCl's masks, made from IRN's
    own run at seed 0) with a repeated stage (IRN's masks at seeds 0-2)
    reads the repeated stage at seed 0: the gain is over the IRN PtReCl was
    made from (not over IRN's mean), with IRN's spread beside it and the tie
    rule at two sds of a difference of two runs; other fields of the row,
    and stages run once that no repeated stage made, read every seed."""
    render = import_tool('benchmark_render').render
    row = [
        'PtReCl',
        '{ptrecl.metrics.mIoU - irn.metrics.mIoU:+.1f}',
        '{irn.metrics.mIoU:.1f}',
        '{100 * dl.metrics.mIoU / dl_gt.metrics.mIoU:.0f}%',
        '{irn.metrics.mIoU - fixed.metrics.mIoU:+.1f}',
    ]
    table = dict(kind='table', header=['m', 'gain', 'irn', 'share', 'x'], rows=[row])
    stages = {
        'irn': {'mIoU': 50.0},
        'irn@1': {'mIoU': 50.5},
        'irn@2': {'mIoU': 51.0},
        'walk': {'mIoU': 0.0},
        'ptrecl': {'mIoU': 55.0},
        'dl': {'mIoU': 40.0},
        'dl_gt': {'mIoU': 50.0},
        'dl_gt@1': {'mIoU': 40.0},
        'dl_gt@2': {'mIoU': 45.0},
        'fixed': {'mIoU': 10.0},
    }
    results = _bare_results(stages, [table])
    results['stages']['walk']['inputs'] = {'cams': 'irn.walk_scores'}
    results['stages']['ptrecl']['inputs'] = {'cams': ['walk.scores', 'fixed']}
    results['stages']['dl']['inputs'] = {'train_labels': 'ptrecl.labels'}
    text = render({'main': results})
    # +5.0 against IRN's seed 0 (the mean would give +4.5); sd of 55 - IRN
    # over the seeds 0.5; IRN alone keeps its spread; DeepLabV2 trained once
    # against the bound at the same seed (80%, not 89% against the mean);
    # a stage run once from no repeated stage: every seed
    gain = "+5.0 (seed 0; runs' sd 0.5 over 3 seeds)"
    assert f'| PtReCl | {gain} | 50.5 ± 0.5 | 80% | +40.5 ± 0.5 |' in text
    # within two sds of a difference of two runs (2 x 0.5 x sqrt 2): a tie
    results['stages']['ptrecl']['metrics']['mIoU'] = 51.0
    text = render({'main': results})
    assert "+1.0 (seed 0; runs' sd 0.5 over 3 seeds) (tie)" in text
    # without IRN's own run, its repeats alone cannot say which IRN it was
    del results['stages']['irn']
    text = render({'main': results})
    assert '| PtReCl | +0.2 ± 0.4 (tie) (2 runs) | 50.8 ± 0.4 (2 runs) |' in text
