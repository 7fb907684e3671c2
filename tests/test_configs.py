"""Every config under configs/ (but _base_) parses and builds its model."""

import glob
import os.path as osp
import re

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import LOOPS as ROOT_LOOPS
from mmengine.registry import DefaultScope
from mmseg.datasets import BaseSegDataset

import mmwsss  # noqa: F401
from mmwsss.registry import DATASETS, LOOPS, METRICS, MODELS

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = sorted(
    p
    for p in glob.glob(osp.join(ROOT, 'configs', '**', '*.py'), recursive=True)
    if '_base_' not in p and '/pipelines/' not in p
)
PIPELINES = sorted(glob.glob(osp.join(ROOT, 'configs', 'pipelines', '*.py')))
# mmdet configs (the instance branch) inherit mmdet's: mmdet's registries,
# datasets and COCO metrics
DET_CONFIGS = [p for p in CONFIGS if Config.fromfile(p).get('default_scope') == 'mmdet']
SEG_CONFIGS = [p for p in CONFIGS if p not in DET_CONFIGS]
# a training config's name gives its GPUs and batch per GPU ('1xb16': 1 x 16)
TRAIN_BATCH = re.compile(r'_(\d+)xb(\d+)[-_]')
TRAIN_CONFIGS = [p for p in CONFIGS if TRAIN_BATCH.search(osp.basename(p))]


def _no_pretrained(model_cfg):
    model_cfg.pop('pretrained', None)
    backbone = model_cfg.get('backbone', {})
    backbone.pop('init_cfg', None)
    if 'pretrained' in backbone:
        backbone['pretrained'] = False


def test_configs_found():
    assert CONFIGS, 'no config found'


@pytest.mark.parametrize('path', TRAIN_CONFIGS, ids=lambda p: osp.relpath(p, ROOT))
def test_training_config_declares_its_total_batch(path):
    """``auto_scale_lr.base_batch_size`` is the total batch of the name (GPUs x
    batch per GPU), so ``tools/train.py --auto-scale-lr`` on other GPU counts
    scales the learning rate from the recipe's batch."""
    gpus, per_gpu = (int(v) for v in TRAIN_BATCH.search(osp.basename(path)).groups())
    cfg = Config.fromfile(path)
    assert cfg.train_dataloader.batch_size == per_gpu
    assert cfg.auto_scale_lr == dict(enable=False, base_batch_size=gpus * per_gpu)


@pytest.mark.parametrize('path', SEG_CONFIGS, ids=lambda p: osp.relpath(p, ROOT))
def test_config_builds(path):
    cfg = Config.fromfile(path)
    assert cfg.custom_imports['imports'] == ['mmwsss']
    # mmwsss's scope: its registries find mmwsss's components and mmseg's
    assert cfg.default_scope == 'mmwsss'
    with DefaultScope.overwrite_default_scope('mmwsss'):
        _check_seg_config(cfg)


def _scoped_types(node, found):
    """(scope, type) of every dict that carries a ``_scope_`` mark (mmengine
    adds it to the dicts of a base config from another package, ``mmseg::``)."""
    if isinstance(node, dict):
        if '_scope_' in node and isinstance(node.get('type'), str):
            found.append((node['_scope_'], node['type']))
        for value in node.values():
            _scoped_types(value, found)
    elif isinstance(node, list | tuple):
        for value in node:
            _scoped_types(value, found)
    return found


def _check_seg_config(cfg):
    # a dict kept from an mmseg base builds under mmseg's scope, which does not
    # see mmwsss's components: its type must be mmseg's (or mmengine's)
    for scope, name in _scoped_types(cfg.to_dict(), []):
        if scope == 'mmseg' and not name.startswith('mmwsss.'):
            assert not any(
                name in registry.module_dict
                for registry in (MODELS, DATASETS, METRICS, LOOPS)
            ), f"{name} is mmwsss's, in a dict marked _scope_=mmseg"
    _no_pretrained(cfg.model)
    model = MODELS.build(cfg.model)
    model.init_weights()
    dataset_cls = DATASETS.get(cfg.test_dataloader.dataset.type)
    assert DATASETS.get(cfg.train_dataloader.dataset.type) is not None
    assert LOOPS.get(cfg.test_cfg['type']) is not None
    evaluators = cfg.test_evaluator
    if isinstance(evaluators, dict) and evaluators.get('type') == 'Evaluator':
        evaluators = evaluators['metrics']
    for ev in evaluators if isinstance(evaluators, list) else [evaluators]:
        assert METRICS.get(ev['type']) is not None
    model.eval()
    with torch.no_grad():
        outputs = model(torch.zeros(1, 3, 64, 64), mode='tensor')
    if cfg.model.type == 'PrototypeReclassifier':
        # PtReCl: the recovery net's backbone features (EfficientNet-Lite0:
        # 1280-d at stride 16; ResNet-101: 2048-d at stride 8), compared with
        # prototypes loaded from the prototype stage's file
        assert outputs.shape[:2] == (1, 1280 if 'effl0' in cfg.filename else 2048)
        assert outputs.shape[-1] in (4, 8)
        assert cfg.test_cfg.exporter.type == 'CAMExporter'
        return
    if cfg.model.type == 'IRNet':
        # class-agnostic: boundary logits and displacement at stride 4
        boundary, displacement = outputs
        assert boundary.shape == (1, 1, 16, 16)
        assert displacement.shape == (1, 2, 16, 16)
        return
    if cfg.model.type == 'AffinityNet':
        # class-agnostic: affinity features on the stride-8 map
        assert outputs.shape == (1, cfg.model.head.out_channels, 8, 8)
        return
    if 'decode_head' in cfg.model:
        # a pixel segmentor (the final stage): one output per class, background
        # included, at a stride of the input; its metric is mmseg's IoUMetric
        assert outputs.shape[:2] == (1, model.num_classes)
        assert 64 % outputs.shape[-1] == 0
        if 'tta_model' in cfg:
            assert MODELS.get(cfg.tta_model.type) is not None
        if issubclass(dataset_cls, BaseSegDataset) and 'classes' in (
            dataset_cls.METAINFO
        ):
            assert len(dataset_cls.METAINFO['classes']) == model.num_classes
        return
    # the dataset's classes include background, the head has one output per
    # foreground class
    assert len(dataset_cls.METAINFO['classes']) == model.num_classes + 1
    assert outputs.shape == (1, model.num_classes)


@pytest.mark.parametrize('path', DET_CONFIGS, ids=lambda p: osp.relpath(p, ROOT))
def test_mmdet_config_builds(path):
    """An mmdet config builds mmdet's model, COCO datasets and COCO bbox / segm
    metrics; its heads have one output per dataset class; it predicts boxes and
    masks at the image size."""
    cfg = Config.fromfile(path)
    assert cfg.custom_imports['imports'] == ['mmwsss']
    assert cfg.default_scope == 'mmdet'
    # mmdet's scope for this test only: later tests find the scope they had
    with DefaultScope.overwrite_default_scope('mmdet'):
        _check_mmdet_config(cfg, path)


def _det_dataset(dataset):
    """The toolbox's dataset config inside mmwsss's ``RequiredAnnFile``."""
    return dataset.dataset if dataset.type == 'RequiredAnnFile' else dataset


def _check_mmdet_config(cfg, path):
    from mmdet.registry import DATASETS as DET_DATASETS
    from mmdet.registry import METRICS as DET_METRICS
    from mmdet.registry import MODELS as DET_MODELS
    from mmdet.structures import DetDataSample

    from mmwsss.datasets.fashionpaste import FASHIONPASTE_CLASSES

    _no_pretrained(cfg.model)
    model = DET_MODELS.build(cfg.model)
    model.init_weights()
    classes = _det_dataset(cfg.train_dataloader.dataset).metainfo['classes']
    if 'fashionpaste' in path:
        assert tuple(classes) == FASHIONPASTE_CLASSES[1:]  # no background
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        dataset = _det_dataset(cfg[loader].dataset)
        assert DET_DATASETS.get(dataset.type) is not None
        assert dataset.metainfo['classes'] == classes
    assert model.roi_head.bbox_head.num_classes == len(classes)
    assert model.roi_head.mask_head.num_classes == len(classes)
    val_root = osp.normpath(_det_dataset(cfg.val_dataloader.dataset).data_root)
    for evaluators in (cfg.val_evaluator, cfg.test_evaluator):
        # mmdet's COCO metric and the VOC-style one, on the val set's ground truth
        by_type = {e.type: e for e in evaluators}
        assert set(by_type) == {'CocoMetric', 'VOCMaskAPMetric'}
        assert DET_METRICS.get('CocoMetric') is not None
        assert METRICS.get('VOCMaskAPMetric') is not None
        assert set(by_type['CocoMetric'].metric) == {'bbox', 'segm'}
        for evaluator in evaluators:
            ann_dir = osp.dirname(osp.normpath(evaluator.ann_file))
            assert osp.dirname(ann_dir) == val_root, evaluator.ann_file
    assert ROOT_LOOPS.get(cfg.test_cfg['type']) is not None
    model.eval()
    meta = dict(img_shape=(64, 64), ori_shape=(64, 64), scale_factor=(1.0, 1.0))
    data = dict(
        inputs=[torch.zeros(3, 64, 64, dtype=torch.uint8)],
        data_samples=[DetDataSample(metainfo=meta)],
    )
    with torch.no_grad():
        (pred,) = model.test_step(data)
    assert pred.pred_instances.masks.shape[1:] == (64, 64)
    assert len(pred.pred_instances.bboxes) == len(pred.pred_instances.masks)


def _pipelines(dataset):
    """Pipelines of a dataset config, through the dataset wrappers."""
    if 'pipeline' in dataset:
        yield dataset.pipeline
    if 'dataset' in dataset:
        yield from _pipelines(dataset.dataset)
    for inner in dataset.get('datasets', []):
        yield from _pipelines(inner)


@pytest.mark.parametrize('path', SEG_CONFIGS, ids=lambda p: osp.relpath(p, ROOT))
def test_training_reads_checked_masks_and_labels(path):
    """Training masks (pseudo masks, IR / PSA labels) are loaded with their
    size and values checked; image labels are packed only where loaded."""
    cfg = Config.fromfile(path)
    pipelines = list(_pipelines(cfg.train_dataloader.dataset))
    assert pipelines
    for pipeline in pipelines:
        types = [step['type'] for step in pipeline]
        assert 'LoadAnnotations' not in types, types
        for step in pipeline:
            if step['type'] == 'PackWSSSInputs' and step.get('require_labels', True):
                assert 'LoadImageLevelLabels' in types, types


@pytest.mark.parametrize('path', PIPELINES, ids=lambda p: osp.relpath(p, ROOT))
def test_pipeline_config_is_valid(path):
    """Stage types and references check out and every stage config exists."""
    from mmwsss.pipeline import build_stages, pipeline_stages
    from mmwsss.pipeline.stages import BaseStage

    cfg = Config.fromfile(path)
    built = build_stages(pipeline_stages(cfg))
    assert all(isinstance(stage, BaseStage) for stage in built)
    names = {s['name'] for s in cfg.stages}
    assert set(cfg.get('stage_options', {})) <= names
    for stage in cfg.stages:
        if 'config' in stage:
            assert osp.isfile(stage['config']), stage['config']
            Config.fromfile(stage['config'])


def test_bench_pipelines_share_stages_with_equal_settings():
    """The bench pipelines share one work dir: a stage name they have in common
    must mean the same settings, else each run would redo the other's stage."""
    from mmwsss.pipeline import pipeline_stages

    bench = [p for p in PIPELINES if 'fashionpaste-bench' in p]
    assert len(bench) >= 3
    seen = {}
    for path in bench:
        cfg = Config.fromfile(path)
        assert cfg.work_dir == 'work_dirs/pipeline_bench2', path
        # their repeats too: a shared stage's copy at a seed must be the same
        for stage in pipeline_stages(cfg):
            stage = dict(stage)
            if stage['name'] in seen:
                assert stage == seen[stage['name']], (path, stage['name'])
            seen[stage['name']] = stage


def test_self_training_predict_config_reads_the_deeplab_checkpoint():
    """The self-training labelling pass: the bench DeepLabV2's weights (same
    parameter names and shapes, so its checkpoint loads), the image labels
    restricting the logits, the train split exported as label PNGs."""
    base = Config.fromfile(
        f'{ROOT}/configs/deeplabv2/deeplabv2_effl0-d16_1xb8-2000it_fashionpaste-160.py'
    )
    predict = Config.fromfile(
        f'{ROOT}/configs/deeplabv2/deeplabv2_effl0-d16_predict-train_fashionpaste-160.py'
    )
    with DefaultScope.overwrite_default_scope('mmwsss'):
        shapes = []
        for cfg in (base, predict):
            _no_pretrained(cfg.model)
            cfg.model.backbone.init_cfg = None
            model = MODELS.build(cfg.model)
            shapes.append({k: v.shape for k, v in model.state_dict().items()})
    assert shapes[0] == shapes[1]
    assert predict.model.decode_head.type == 'LabelConditionedASPPHead'
    dataset = predict.test_dataloader.dataset
    assert dataset.ann_file.endswith('train.txt')
    steps = [step['type'] for step in dataset.pipeline]
    assert 'LoadImageLevelLabels' in steps and steps[-1] == 'PackWSSSInputs'
    assert predict.test_cfg.exporter.type == 'LabelPNGExporter'


V2_CONFIGS = [p for p in CONFIGS if p.endswith('_fashionpaste2-320.py')]


@pytest.mark.parametrize('path', V2_CONFIGS, ids=lambda p: osp.relpath(p, ROOT))
def test_v2_bench_configs_keep_the_references_geometry(path):
    """The 320 px bench configs are the 160 px ones with the image sizes
    doubled; the settings the 160 px configs shrank for their small maps are
    the references' again (objects here are as many cells across as on VOC):
    IRN's and PSA's 256 walk steps, DeepLab's ASPP reach (6 / 12 / 18 / 24 at
    stride 8 = 3 / 6 / 9 / 12 at stride 16), PRM's stride-32 response maps
    upsampled x8 (its peak window on a stride-4 grid)."""
    model = Config.fromfile(path).get('model', {})
    kind = osp.basename(osp.dirname(path))
    name = osp.basename(path)
    if kind in ('irn', 'affinitynet'):
        assert model.test_cfg.steps == 256
    if kind == 'deeplabv2' or name.startswith(('ptrecl-recovery', 'ptrecl-proto')):
        assert tuple(model.decode_head.dilations) == (3, 6, 9, 12)
    if kind == 'prm':
        assert (model.head.window, model.head.upsample) == (3, 8)
        assert model.backbone.output_stride == 32
