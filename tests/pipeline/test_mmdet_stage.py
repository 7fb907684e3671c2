"""mmdet stages in a pipeline: IRN's instance pseudo labels -> Mask R-CNN."""

import json
import math
import os
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config
from PIL import Image

# pytest's default (prepend) import mode puts tests/pipeline on sys.path
from test_stage_runner import CONFIGS, _loader_options, tiny_pipeline

import mmwsss  # noqa: F401
from mmwsss.datasets.fashionpaste import FASHIONPASTE_CLASSES
from mmwsss.engine.instance_exporter import load_instance_json
from mmwsss.pipeline import PipelineContext, run_pipeline, run_stage
from mmwsss.pipeline.report import _instance_columns, write_sample_grid
from mmwsss.utils.checkpoint import safe_checkpoint_loader

MASK_RCNN = f'{CONFIGS}/mask_rcnn/mask-rcnn_r18-tiny_fpn_1xb4-300it_fashionpaste-160.py'
AP_KEYS = ('coco/bbox_mAP', 'coco/bbox_mAP_50', 'coco/segm_mAP', 'coco/segm_mAP_50')


def mask_rcnn_pipeline(data_root, work_dir):
    """The tiny pipeline up to IRN, then the val ground truth as COCO json and
    a Mask R-CNN of 8 iterations on IRN's instances at 64 px."""
    cfg = tiny_pipeline(data_root, work_dir)
    det = {
        **_loader_options(),
        'train_cfg.max_iters': 8,
        'train_dataloader.dataset.pipeline.2.scale': (64, 64),
        'test_dataloader.dataset.pipeline.1.scale': (64, 64),
        'default_hooks.logger.interval': 1,
    }
    cfg.stages = [
        *cfg.stages[:5],  # data, cam, thresholds, ir_labels, irn
        dict(name='gt_val', type='CocoGT', split='val'),
        dict(
            name='maskrcnn',
            type='DetTrainTest',
            config=MASK_RCNN,
            train_instances='irn.pseudo_instances',
            val_instances='gt_val',
            cfg_options=det,
        ),
    ]
    cfg.report = dict(num_samples=0)
    return cfg


@pytest.mark.slow
def test_mask_rcnn_trains_on_irn_instances_and_reports_coco_ap(shared_pipeline):
    cfg = mask_rcnn_pipeline(*shared_pipeline)
    results = run_pipeline(cfg)
    # IRN's instances merged into a COCO dataset, categories by class name
    merged = results['irn']['outputs']['pseudo_instances_coco']
    with open(merged) as f:
        pseudo = json.load(f)
    ids = open(osp.join(cfg.data_root, 'ImageSets/Segmentation/train.txt')).read()
    assert [i['file_name'] for i in pseudo['images']] == [
        f'{i}.jpg' for i in ids.split()
    ]
    assert [c['name'] for c in pseudo['categories']] == list(FASHIONPASTE_CLASSES[1:])
    gt = results['gt_val']
    assert gt['scored_on'] == 'val' and gt['counts']['images'] == 4
    # the mmdet stage: trained on that json, scored by mmdet's CocoMetric
    det = results['maskrcnn']
    assert det['kind'] == 'mask_rcnn' and det['scored_on'] == 'val'
    assert det['train_annotations']['file'] == merged
    # both metrics of the config (mmdet's COCO AP, the VOC-style AP) on the
    # CocoGT stage's json
    for i in (0, 1):
        assert (
            det['options'][f'test_evaluator.{i}.ann_file'] == gt['outputs']['coco_json']
        )
    for key in AP_KEYS:
        assert math.isfinite(det['metrics'][key]) and 0 <= det['metrics'][key] <= 1
    for key in ('voc/AP25', 'voc/AP50', 'voc/AP75', 'voc/ABO'):
        assert 0 <= det['metrics'][key] <= 100
    assert det['metrics']['voc/AP25'] >= det['metrics']['voc/AP50']
    assert osp.isfile(det['checkpoint'])
    with open(osp.join(cfg.work_dir, 'maskrcnn', 'stage.json')) as f:
        manifest = json.load(f)
    assert manifest['inputs'] == dict(
        train_instances='irn.pseudo_instances', val_instances='gt_val'
    )
    assert set(AP_KEYS) <= set(manifest['metrics'])
    # the report lists each stage's own metrics: IRN's mask AP, mmdet's AP
    text = open(osp.join(cfg.work_dir, 'report', 'report.md')).read()
    rows = {
        line.split('|')[1].strip(): line for line in text.splitlines() if '|' in line
    }
    m = det['metrics']
    for ap, ap50 in (('bbox_mAP', 'bbox_mAP_50'), ('segm_mAP', 'segm_mAP_50')):
        cell = f"| {100 * m[f'coco/{ap}']:.1f} / {100 * m[f'coco/{ap50}']:.1f} |"
        assert cell in rows['maskrcnn']
    assert f"{results['irn']['metrics']['instance/AP50']:.1f}" in rows['irn']
    # the report's samples: ground-truth instances, IRN's pseudo instances (its
    # files) and the detector's prediction (its checkpoint), drawn per instance
    with safe_checkpoint_loader():
        columns = dict(_instance_columns(results, cfg.work_dir))
    assert list(columns) == ['irn instances', 'maskrcnn prediction']
    image_id = ids.split()[0]
    img_path = osp.join(cfg.data_root, 'JPEGImages', image_id + '.jpg')
    size = Image.open(img_path).size[::-1]
    irn_files = results['irn']['outputs']['pseudo_instances']
    expected = load_instance_json(osp.join(irn_files, image_id + '.json'))[0]
    np.testing.assert_array_equal(
        columns['irn instances'](image_id, img_path), expected
    )
    predicted = columns['maskrcnn prediction'](image_id, img_path)
    assert predicted.dtype == bool and predicted.shape[1:] == size
    grid = osp.join(cfg.work_dir, 'samples.png')
    write_sample_grid(results, cfg.data_root, cfg.work_dir, ids.split()[:2], grid)
    assert Image.open(grid).size[0] > 0
    # a finished mmdet stage is skipped like any other
    again = run_pipeline(cfg, report=False)
    assert again['maskrcnn']['digest'] == det['digest']
    assert again['maskrcnn']['metrics'] == det['metrics']


def test_mmdet_inputs_are_checked(tmp_path):
    """Segmentation inputs on an mmdet config, COCO inputs on an mmseg one and
    a folder where a json is needed are errors that say what to pass."""
    ctx = PipelineContext(str(tmp_path / 'data'), str(tmp_path / 'work'))
    folder = tmp_path / 'labels'
    folder.mkdir()
    ctx.results['labels'] = dict(finished=True, out_dir=str(folder), outputs={})
    det = dict(name='det', type='DetTrainTest', config=MASK_RCNN)
    with pytest.raises(TypeError, match="'train_labels'.*its arguments"):
        run_stage(ctx, dict(det, train_labels='labels'))
    with pytest.raises(ValueError, match='not a COCO json'):
        run_stage(ctx, dict(det, train_instances='labels'))
    seg = f'{CONFIGS}/cam/cam_effl0_1xb16-8e_fashionpaste-160.py'
    with pytest.raises(TypeError, match="'val_instances'"):
        run_stage(
            ctx, dict(name='seg', type='TrainTest', config=seg, val_instances='x')
        )
    # each kind names the other for the other toolbox's configs
    with pytest.raises(ValueError, match="type='DetTrainTest'"):
        run_stage(ctx, dict(det, type='TrainTest'))
    with pytest.raises(ValueError, match="type='TrainTest'"):
        run_stage(ctx, dict(det, config=seg))
    assert Config.fromfile(MASK_RCNN).default_scope == 'mmdet'


def test_coco_inputs_resolve_to_absolute_paths(tmp_path, monkeypatch):
    """A pipeline run from a relative work dir still hands mmdet an absolute
    ann_file (mmdet joins a relative one to the dataset's data_root)."""
    from mmwsss.pipeline.context import CocoJsonInput

    monkeypatch.chdir(tmp_path)
    os.makedirs('work/gt', exist_ok=True)
    with open('work/gt/train.json', 'w') as f:
        f.write('{}')
    ctx = PipelineContext('data', 'work')
    ctx.results['gt'] = dict(
        finished=True, out_dir='work/gt', outputs={'train': 'work/gt/train.json'}
    )
    coco = CocoJsonInput('training instances')
    path = coco.resolve(ctx, 'det', 'gt')
    assert path == str(tmp_path / 'work/gt/train.json')
    assert coco.resolve(ctx, 'det', 'gt.train') == path
