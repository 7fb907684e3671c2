"""The COCO 2014 recipe (CAM -> IR labels -> IRN -> DeepLabV2): the settings its
configs take from the COCO runs of IRN's code (ReCAM, Chen et al., CVPR 2022)
and from DeepLab-v2's COCO training (docs/reproduction/coco_recipe.md), the label
stages on the COCO layout, and, slow, one training iteration of each config on
generated COCO-size images.

The tiny tree has COCO's layout (train2014/, val2014/, annotations/ with
instances jsons that list all 80 categories) and 640 x 480 images with polygon,
RLE and crowd annotations of three categories;
tools/dataset_converters/coco_wsss.py runs on it as a user would (masks,
cls_labels.json and the image lists). The configs train at batch 1 from random
weights (no checkpoint is fetched).
"""

import json
import os
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.registry import DefaultScope
from mmengine.runner import Runner
from PIL import Image
from pycocotools import mask as mask_utils

import mmwsss  # noqa: F401  (registers the components)
from mmwsss.datasets import COCO_CLASSES, dataset_classes, split_ids
from mmwsss.engine.exporters import save_cam_file
from mmwsss.pipeline.context import PipelineContext
from mmwsss.pipeline.stages import Labels, Thresholds
from mmwsss.registry import DATASETS

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CAM = 'configs/cam/cam_r50_1xb16-5e_coco14-512.py'
IRN = 'configs/irn/irn_r50_1xb32-3e_coco14-512.py'
DEEPLABV2 = 'configs/deeplabv2/deeplabv2_r101-d8_1xb10-100k_coco14-321.py'
PIPELINE = 'configs/pipelines/cam-irn-deeplabv2_r101_coco14.py'
PUBLISHED = 'configs/pipelines/cam-irn-deeplabv2_r101_coco14_published.py'
TORCHVISION_R50 = 'https://download.pytorch.org/models/resnet50-0676ba61.pth'
#: COCO's 80 category ids (1..90 with gaps), in the order of COCO_CLASSES[1:]
COCO_IDS = [
    *range(1, 12), *range(13, 26), 27, 28, *range(31, 45), *range(46, 66), 67, 70,
    *range(72, 83), *range(84, 91),
]  # fmt: skip
PERSON, DOG, TOOTHBRUSH = 1, 18, 90  # category ids; class indices 1, 17, 80
H, W = 480, 640


def _cfg(path):
    return Config.fromfile(osp.join(ROOT, path))


def _step(pipeline, name):
    (step,) = [s for s in pipeline if s['type'] == name]
    return step


# -- the settings of the reference runs ----------------------------------------


def test_every_config_counts_80_classes_and_background():
    cam, irn, deeplab = _cfg(CAM), _cfg(IRN), _cfg(DEEPLABV2)
    assert cam.model.head.num_classes == 80
    assert deeplab.model.decode_head.num_classes == 81
    for cfg in (cam, irn):
        assert cfg.train_dataloader.dataset.type == 'WSSSCOCODataset'
        assert cfg.test_dataloader.dataset.type == 'WSSSCOCODataset'
    irn_labels = _step(irn.train_dataloader.dataset.pipeline, 'LoadAnnotationsChecked')
    assert irn_labels.num_classes == 81
    inner = deeplab.train_dataloader.dataset.dataset
    assert inner.type == deeplab.val_dataloader.dataset.type == 'WSSSCOCODataset'
    assert _step(inner.pipeline, 'LoadAnnotationsChecked').num_classes == 81
    assert len(COCO_CLASSES) == 81 and COCO_CLASSES[0] == 'background'


def test_cam_trains_with_the_reference_settings():
    """run_sample_coco / step_coco/train_cam: batch 16, 5 epochs, lr 0.1 (x10
    classifier), weight decay 1e-4, long side 320-640, crop 512; scored at
    cam_eval_thres 0.15 after scales 1.0, 0.5, 1.5, 2.0 + flip."""
    cfg = _cfg(CAM)
    assert cfg.model.backbone.init_cfg.checkpoint == TORCHVISION_R50
    assert cfg.model.backbone.frozen_stages == 2
    loader = cfg.train_dataloader
    assert (loader.batch_size, loader.drop_last) == (16, True)
    assert cfg.train_cfg.max_epochs == 5
    optimizer = cfg.optim_wrapper.optimizer
    assert (optimizer.lr, optimizer.momentum, optimizer.weight_decay) == (
        0.1,
        1e-4,
        1e-4,
    )
    assert cfg.optim_wrapper.paramwise_cfg.custom_keys.head.lr_mult == 10.0
    pipeline = loader.dataset.pipeline
    resize = _step(pipeline, 'RandomResize')
    assert resize.scale == (512, 512) and resize.ratio_range == (0.625, 1.25)
    assert (resize.interpolation, resize.backend) == ('bicubic', 'pillow')
    assert _step(pipeline, 'RandomCrop').crop_size == (512, 512)
    assert cfg.model.test_cfg.scales == (1.0, 0.5, 1.5, 2.0)
    assert cfg.model.test_cfg.flip and cfg.model.test_cfg.bg_score == 0.15
    # images with an object: train2014 to train on and score seeds on
    for loader in (cfg.train_dataloader, cfg.test_dataloader):
        assert loader.dataset.ann_file == 'annotations/instances_train2014.json'
        assert loader.dataset.filter_empty
    assert cfg.val_dataloader.dataset.ann_file == 'annotations/instances_val2014.json'


def test_irn_trains_and_walks_with_the_reference_settings():
    """step_coco/train_irn and make_sem_seg_labels: batch 32, 3 epochs, lr 0.1
    (x10 displacement), rescale 0.5-1.5, crop 512; walk beta 10, 2^8 steps,
    radius 5, sem_seg_bg_thres 0.25."""
    cfg = _cfg(IRN)
    assert cfg.model.backbone.init_cfg.checkpoint == TORCHVISION_R50
    loader = cfg.train_dataloader
    assert (loader.batch_size, loader.drop_last) == (32, True)
    assert cfg.train_cfg.max_epochs == 3
    optimizer = cfg.optim_wrapper.optimizer
    assert (optimizer.lr, optimizer.momentum, optimizer.weight_decay) == (
        0.1,
        1e-4,
        1e-4,
    )
    rescale = _step(loader.dataset.pipeline, 'RandomRescale')
    assert rescale.ratio_range == (0.5, 1.5)
    assert _step(loader.dataset.pipeline, 'RandomCrop').crop_size == (512, 512)
    assert cfg.model.train_cfg.radius == 10
    walk = cfg.model.test_cfg
    assert (walk.radius, walk.beta, walk.steps, walk.bg_score) == (5, 10, 256, 0.25)
    # the CAM config's exports, IR labels of its train2014 images
    cam_dir = _step(cfg.test_dataloader.dataset.pipeline, 'LoadCAMs').cam_dir
    assert cam_dir.endswith('work_dirs/cam_r50_1xb16-5e_coco14-512/cams')
    seg_dir = loader.dataset.data_prefix.seg_map_path
    assert seg_dir.endswith('work_dirs/cam_r50_1xb16-5e_coco14-512/ir_labels')


def test_deeplabv2_trains_with_the_coco_schedule():
    """DeepLab-v2's COCO schedule (deeplab-pytorch): batch 10, 100k iterations,
    lr 2.5e-4, poly 0.9, rescale 0.5-1.5, crop 321; val2014 ground truth."""
    cfg = _cfg(DEEPLABV2)
    assert cfg.train_dataloader.batch_size == 10
    assert cfg.train_cfg.max_iters == 100000
    (poly,) = cfg.param_scheduler
    assert (poly.type, poly.end, poly.power) == ('PolyLR', 100000, 0.9)
    optimizer = cfg.optim_wrapper.optimizer
    assert (optimizer.lr, optimizer.momentum, optimizer.weight_decay) == (
        2.5e-4,
        0.9,
        5e-4,
    )
    pipeline = cfg.train_dataloader.dataset.dataset.pipeline
    assert _step(pipeline, 'RandomRescale').ratio_range == (0.5, 1.5)
    assert _step(pipeline, 'RandomCrop').crop_size == (321, 321)
    assert cfg.model.data_preprocessor.size == (321, 321)
    val = cfg.val_dataloader.dataset
    assert val.ann_file == 'annotations/instances_val2014.json'
    assert val.data_prefix.seg_map_path == 'wsss/val2014/SegmentationClass'
    assert cfg.tta_model.type == 'CRFSegTTAModel'


def test_pipelines_differ_only_in_the_published_thresholds():
    free, published = _cfg(PIPELINE), _cfg(PUBLISHED)
    assert free.data_root == published.data_root == 'data/coco'
    assert free.work_dir != published.work_dir
    assert [s['name'] for s in free.stages] == [s['name'] for s in published.stages]
    options = {}
    for stage, twin in zip(free.stages, published.stages):
        stage, twin = dict(stage), dict(twin)
        if stage['name'] in ('ir_labels', 'irn_labels'):
            free_options = stage.pop('label_options').values()
            assert all(str(v).startswith('auto:') for v in free_options)
            options[stage['name']] = twin.pop('label_options')
            # the COCO layout: ids, images and masks of train2014
            assert stage['split'] == 'train2014' and stage['img_dir'] == 'train2014'
            assert stage['gt_dir'] == 'wsss/train2014/SegmentationClass'
        assert stage == twin
    # ReCAM's run_sample_coco: conf_fg_thres, conf_bg_thres, sem_seg_bg_thres
    assert options == dict(
        ir_labels=dict(fg_thr=0.30, bg_thr=0.05), irn_labels=dict(bg_score=0.25)
    )
    configs = [osp.basename(s['config']) for s in free.stages if 'config' in s]
    assert configs == [osp.basename(p) for p in (CAM, IRN, DEEPLABV2)]


# -- a tiny COCO 2014 tree ------------------------------------------------------


def _box(y0, y1, x0, x1):
    mask = np.zeros((H, W), np.uint8)
    mask[y0:y1, x0:x1] = 1
    return mask


def _rle(mask):
    rle = mask_utils.encode(np.asfortranarray(mask))
    return dict(size=rle['size'], counts=rle['counts'].decode('ascii'))


def _polygon(y0, y1, x0, x1):
    return [[float(x0), float(y0), float(x1), float(y0), float(x1), float(y1)]
            + [float(x0), float(y1)]]  # fmt: skip


def _write_split(root, split, images, rng):
    """``images``: ``(image id, [(category id, segmentation, iscrowd), ...])``."""
    (root / split).mkdir()
    infos, annotations = [], []
    for image_id, objects in images:
        name = f'COCO_{split}_{image_id:012d}.jpg'
        pixels = rng.integers(0, 256, size=(H, W, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(root / split / name)
        infos.append(dict(id=image_id, file_name=name, height=H, width=W))
        for category_id, segmentation, iscrowd in objects:
            annotations.append(
                dict(
                    id=len(annotations) + 1,
                    image_id=image_id,
                    category_id=category_id,
                    segmentation=segmentation,
                    iscrowd=iscrowd,
                    area=1.0,
                )
            )
    categories = [
        dict(id=i, name=name, supercategory='x')
        for i, name in zip(COCO_IDS, COCO_CLASSES[1:])
    ]
    coco = dict(images=infos, annotations=annotations, categories=categories)
    (root / 'annotations' / f'instances_{split}.json').write_text(json.dumps(coco))


@pytest.fixture(scope='module')
def tiny_coco(tmp_path_factory, request):
    """train2014: a person (polygon) with a dog (RLE) and a crowd; a
    toothbrush; an image without annotations. val2014: a person; a dog."""
    root = tmp_path_factory.mktemp('coco')
    (root / 'annotations').mkdir()
    rng = np.random.default_rng(0)
    train = [
        (9, [
            (PERSON, _polygon(60, 420, 80, 300), 0),
            (DOG, _rle(_box(200, 400, 350, 600)), 0),
            (PERSON, _rle(_box(0, 40, 0, 640)), 1),
        ]),
        (25, [(TOOTHBRUSH, _polygon(100, 300, 200, 260), 0)]),
        (30, []),
    ]  # fmt: skip
    val = [
        (42, [(PERSON, _polygon(50, 400, 100, 500), 0)]),
        (73, [(DOG, _rle(_box(100, 380, 120, 560)), 0)]),
    ]
    _write_split(root, 'train2014', train, rng)
    _write_split(root, 'val2014', val, rng)
    converter = request.getfixturevalue('import_tool')('dataset_converters/coco_wsss')
    for split in ('train2014', 'val2014'):
        converter.main(['--coco-root', str(root), '--split', split])
    return str(root)


def test_converter_lists_the_images_with_an_object(tiny_coco):
    assert split_ids(tiny_coco, 'train2014') == [
        'COCO_train2014_000000000009',
        'COCO_train2014_000000000025',
    ]
    assert len(split_ids(tiny_coco, 'val2014')) == 2
    assert dataset_classes(tiny_coco) == list(COCO_CLASSES)
    # the datasets of the configs keep the same images
    cfg = _cfg(CAM)
    dataset_cfg = cfg.test_dataloader.dataset
    dataset_cfg.data_root = tiny_coco
    with DefaultScope.overwrite_default_scope('mmwsss'):
        dataset = DATASETS.build(dataset_cfg)
    stems = [
        osp.splitext(osp.basename(dataset.get_data_info(i)['img_path']))[0]
        for i in range(len(dataset))
    ]
    assert stems == split_ids(tiny_coco, 'train2014')
    gt = np.asarray(Image.open(dataset.get_data_info(0)['seg_map_path']))
    assert set(np.unique(gt).tolist()) == {0, 1, 17, 255}  # person, dog, crowd


def _cams_from_masks(data_root, ids, out_dir):
    """CAM files in the exporter's format made from the converter's masks
    (each present class's mask, shifted by 8 px): a good classifier's maps."""
    gt_dir = osp.join(data_root, 'wsss', 'train2014', 'SegmentationClass')
    for image_id in ids:
        gt = np.asarray(Image.open(osp.join(gt_dir, image_id + '.png')))
        keys = np.array([c for c in np.unique(gt) if 0 < c < 255], np.int16)
        cams = np.stack([np.roll(gt == k, 8, axis=1) for k in keys]).astype(np.float32)
        save_cam_file(
            osp.join(out_dir, image_id + '.npz'), keys, cams[:, ::4, ::4], cams
        )


def _settings(stage):
    """A pipeline stage's arguments (its config entry less name and type)."""
    return {k: v for k, v in stage.items() if k not in ('name', 'type')}


@pytest.mark.slow
def test_label_stages_read_the_coco_layout(tiny_coco, tmp_path):
    """The pipeline's Thresholds and Labels stages on COCO: ids from the
    converter's list, images from train2014/, scored on 81 classes."""
    cfg = _cfg(PUBLISHED)
    stages = {s['name']: s for s in cfg.stages}
    ctx = PipelineContext(tiny_coco, str(tmp_path / 'work'))
    for name in ('thresholds', 'ir_labels'):  # the runner makes them
        os.makedirs(ctx.stage_dir(name))
    cam_dir = tmp_path / 'cams'
    cam_dir.mkdir()
    ids = split_ids(tiny_coco, 'train2014')
    _cams_from_masks(tiny_coco, ids, str(cam_dir))

    settings = _settings(stages['thresholds'])
    result = Thresholds('thresholds', **settings).run(
        ctx, **{**settings, 'cams': str(cam_dir)}
    )
    assert set(result['thresholds']) >= {'fg_thr', 'bg_thr', 'bg_score'}

    settings = _settings(stages['ir_labels'])
    result = Labels('ir_labels', **settings).run(
        ctx, **{**settings, 'cams': str(cam_dir), 'thresholds': None, 'workers': 1}
    )
    assert result['label_options'] == dict(fg_thr=0.30, bg_thr=0.05)
    assert result['written'] == len(ids)
    assert len(result['per_class_iou']) == 81
    for image_id in ids:
        labels = np.asarray(Image.open(osp.join(result['out_dir'], image_id + '.png')))
        assert labels.shape == (H, W)
        assert set(np.unique(labels).tolist()) <= {0, 1, 17, 80, 255}
    assert result['metrics']['mIoU'] > 0


# -- one training iteration of each COCO config (slow) --------------------------


class _SnapshotHeads(Hook):
    """Copies the heads' parameters (outside the backbone) before training,
    after the Runner's weight initialisation (random here)."""

    def __init__(self):
        self.before = {}

    def before_train(self, runner):
        for name, param in runner.model.named_parameters():
            if param.requires_grad and not name.startswith('backbone.'):
                self.before[name] = param.detach().clone()


def _one_iteration(cfg, work_dir):
    """Batch 1, one iteration, no validation, no checkpoint, no weights."""
    cfg.work_dir = str(work_dir)
    cfg.model.pop('pretrained', None)
    cfg.model.backbone.pop('init_cfg', None)
    loader = cfg.train_dataloader
    loader.batch_size = 1
    loader.num_workers = 0
    loader.persistent_workers = False
    if cfg.train_cfg.type == 'EpochBasedTrainLoop':
        cfg.train_cfg.max_epochs = 1
        dataset = loader.dataset
        (dataset.get('dataset') or dataset).indices = 1  # one image, one batch
    else:
        cfg.train_cfg.max_iters = 1
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.train_cfg.pop('val_interval', None)
    cfg.default_hooks.checkpoint = None
    cfg.randomness = dict(seed=0)
    return cfg


@pytest.mark.slow
@pytest.mark.parametrize('path', [CAM, IRN, DEEPLABV2])
def test_one_training_iteration_on_coco_size_images(path, tiny_coco, tmp_path):
    cfg = _one_iteration(_cfg(path), tmp_path / 'work')
    dataset = cfg.train_dataloader.dataset
    masks = osp.join(tiny_coco, 'wsss', 'train2014', 'SegmentationClass')
    if dataset.type == 'PseudoLabelDataset':  # DeepLabV2 on pseudo masks
        dataset.pseudo_dir = masks
        dataset.dataset.data_root = tiny_coco
    else:
        dataset.data_root = tiny_coco
        if dataset.data_prefix.get('seg_map_path'):  # IR labels
            dataset.data_prefix.seg_map_path = masks
    runner = Runner.from_cfg(cfg)
    snapshot = _SnapshotHeads()
    runner.register_hook(snapshot)
    runner.train()
    assert runner.iter == 1
    assert np.isfinite(runner.message_hub.get_scalar('train/loss').current())
    params = dict(runner.model.named_parameters())
    assert snapshot.before
    assert any(not torch.equal(v, params[n]) for n, v in snapshot.before.items())
