"""OAA+'s integral attention model: targets from the accumulated maps, its
loss, training, and maps exported in the CAM seed format."""

import glob
import json
import os
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample
from PIL import Image

import mmwsss  # noqa: F401  (registers the components)
from mmwsss.datasets.fashionpaste import generate_fashionpaste
from mmwsss.datasets.transforms import LoadCAMs
from mmwsss.engine.exporters import save_cam_file
from mmwsss.ops.oaa import integral_attention_loss, resize_targets
from mmwsss.registry import MODELS
from mmwsss.utils import safe_checkpoint_loader
from mmwsss.utils.map_file import load_map_file

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs/oaa/oaa-iam_effl0_1xb16-8e_fashionpaste-160.py')
NUM_CLASSES = 3


def _model():
    return MODELS.build(
        dict(
            type='IntegralAttentionModel',
            backbone=dict(
                type='ResNet',
                depth=18,
                base_channels=8,
                out_indices=(3,),
                strides=(1, 2, 2, 1),
                norm_eval=False,
            ),
            head=dict(
                type='IntegralAttentionHead',
                in_channels=64,
                num_classes=NUM_CLASSES,
                channels=16,
            ),
            test_cfg=dict(scales=(1.0,), flip=False),
        )
    )


def _sample(keys, maps, img_shape, flip=False):
    """A sample whose image (of ``img_shape``, not resized) has the
    accumulated ``maps`` of classes ``keys``."""
    sample = SegDataSample(
        metainfo=dict(
            img_path='im.jpg',
            img_shape=img_shape,
            ori_shape=img_shape,
            flip=flip,
            flip_direction='horizontal' if flip else None,
        )
    )
    sample.gt_img_labels = torch.tensor(keys, dtype=torch.long)
    sample.cam_keys = torch.tensor(keys, dtype=torch.long)
    sample.set_data(dict(cams_strided=PixelData(data=torch.as_tensor(maps))))
    return sample


def test_targets_at_the_map_size_and_the_loss():
    model = _model()
    # a 32x24 image padded to 32x32 (maps at stride 4: 8x8), its class 2 lit
    # on its left half, flipped: lit on the right half of the image
    maps = torch.zeros(1, 8, 6)
    maps[0, :, :3] = 1.0
    samples = [
        _sample([2], maps, (32, 24), flip=True),
        _sample([], torch.zeros(0, 8, 8), (32, 32)),
    ]
    inputs = torch.randn(2, 3, 32, 32)
    full, full_valid = model.targets(inputs, samples)  # on the padded input
    assert full.shape == (2, NUM_CLASSES, 32, 32) and full_valid.shape == (2, 32, 32)
    assert full_valid[0, :, :24].all() and not full_valid[0, :, 24:].any()
    targets, valid = resize_targets(full, full_valid, (4, 4))  # cells of 8
    assert targets.shape == (2, NUM_CLASSES, 4, 4) and valid.shape == (2, 4, 4)
    assert targets[:, [0, 2]].abs().sum() == 0 and targets[1].abs().sum() == 0
    # the image's 24 columns are 3 cells; the last cell is padding
    assert valid[0, :, :3].all() and not valid[0, :, 3].any() and valid[1].all()
    lit = targets[0, 1]
    assert (lit[:, 0] == 0).all() and (lit[:, 2] == 1).all()
    assert 0 < lit[0, 1] < 1  # the half-lit middle cell, averaged
    # the model's loss is OAA+'s on the targets at its maps' size (stride 16)
    logits = model.head.cam(model.extract_feat(inputs))
    targets, valid = resize_targets(full, full_valid, logits.shape[-2:])
    assert valid.shape == (2, 2, 2) and valid[0, :, 1].all()  # 8 of 16 columns
    expected = integral_attention_loss(logits, targets, valid)
    loss = model.loss(inputs, samples)
    torch.testing.assert_close(loss['loss_iam'], expected)
    # no maps, a crop, a class the head lacks: errors that name the fix
    bare = SegDataSample(
        metainfo=dict(img_path='x.jpg', img_shape=(32, 32), ori_shape=(32, 32))
    )
    with pytest.raises(KeyError, match='x.jpg.*LoadCAMs'):
        model.loss(inputs[:1], [bare])
    cropped = _sample([1], torch.zeros(1, 8, 8), (32, 32))
    cropped.set_metainfo(dict(ori_shape=(48, 48)))
    with pytest.raises(ValueError, match='cropped'):
        model.loss(inputs[:1], [cropped])
    with pytest.raises(ValueError, match='outside'):
        model.loss(inputs[:1], [_sample([4], torch.zeros(1, 8, 8), (32, 32))])


def test_training_reproduces_the_accumulated_maps():
    torch.manual_seed(0)
    model = _model()
    # class 1 images: a bright left half, attended there; class 3 images: right
    inputs = torch.zeros(4, 3, 32, 32)
    inputs[:2, :, :, :16] = 2
    inputs[2:, :, :, 16:] = 2
    left, right = torch.zeros(1, 8, 8), torch.zeros(1, 8, 8)
    left[0, :, :4] = 1.0
    right[0, :, 4:] = 1.0
    samples = [_sample([1], left, (32, 32))] * 2 + [_sample([3], right, (32, 32))] * 2
    optim = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    losses = []
    for _ in range(30):
        loss = model.loss(inputs, samples)['loss_iam']
        optim.zero_grad()
        loss.backward()
        optim.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
    model.eval()
    with torch.no_grad():
        first, third = model.predict(inputs[[0, 2]], [samples[0], samples[2]])
    # the exported maps light the attended half
    assert first.cam_keys.tolist() == [1] and third.cam_keys.tolist() == [3]
    assert first.cams.data[0, :, :16].mean() > first.cams.data[0, :, 16:].mean()
    assert third.cams.data[0, :, 16:].mean() > third.cams.data[0, :, :16].mean()


def test_config_builds_with_oaa_head_and_lr():
    cfg = Config.fromfile(CONFIG)
    init_default_scope('mmwsss')
    cfg.model.backbone.pretrained = False
    model = MODELS.build(cfg.model)
    assert type(model).__name__ == 'IntegralAttentionModel'
    assert len(model.head.convs) == 6  # three 3x3 convs of 512 with ReLU
    assert model.head.classifier.bias is not None
    optim = build_optim_wrapper(model, cfg.optim_wrapper).optimizer
    assert optim.defaults['momentum'] == 0.9
    names = {id(p): n for n, p in model.named_parameters()}
    lrs = {names[id(g['params'][0])]: g['lr'] for g in optim.param_groups}
    base = cfg.optim_wrapper.optimizer.lr
    assert lrs['head.convs.0.weight'] == pytest.approx(10 * base)
    assert lrs['backbone.head.0.weight'] == pytest.approx(base)
    steps = [s['type'] for s in cfg.train_dataloader.dataset.pipeline]
    assert 'LoadCAMs' in steps and not any('Crop' in s for s in steps)


@pytest.mark.slow
def test_trains_on_oaa_maps_and_exports_cam_seeds(tmp_path):
    data = str(tmp_path / 'data')
    generate_fashionpaste(data, size='tiny', seed=0, source='subset', progress=False)
    ids = open(osp.join(data, 'ImageSets/Segmentation/train.txt')).read().split()
    labels = json.load(open(osp.join(data, 'cls_labels.json')))
    # accumulated maps in the OAA stage's format: each class's mask, at
    # stride 4 (what OAAHook writes)
    maps_dir = tmp_path / 'oaa_maps'
    os.makedirs(maps_dir)
    for image_id in ids:
        mask = np.asarray(Image.open(f'{data}/SegmentationClass/{image_id}.png'))
        keys = sorted(labels[image_id])
        high = np.stack([(mask == c).astype(np.float32) for c in keys] or [mask[:0]])
        high = high.reshape(len(keys), *mask.shape)
        cam = high[:, 2::4, 2::4]
        save_cam_file(str(maps_dir / f'{image_id}.npz'), keys, cam, high)

    cfg = Config.fromfile(CONFIG)
    work_dir = str(tmp_path / 'work')
    cfg.work_dir = work_dir
    cfg.model.backbone.pretrained = False
    cfg.model.data_preprocessor.size = (64, 64)
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[name].dataset.data_root = data
        cfg[name].num_workers = 0
        cfg[name].persistent_workers = False
    pipeline = cfg.train_dataloader.dataset.pipeline
    pipeline[2].cam_dir = str(maps_dir)
    pipeline[3].scale = (64, 64)
    cfg.train_dataloader.batch_size = 4
    cfg.train_cfg.max_epochs = 1
    cfg.train_cfg.val_interval = 1
    cfg.param_scheduler[0].end = 1
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.iter == 2  # 8 images (those with a class), batch 4
    with safe_checkpoint_loader():
        metrics = runner.test()
    assert 0 <= metrics['seed/mIoU'] <= 100
    files = sorted(glob.glob(osp.join(work_dir, 'cams', '*.npz')))
    assert [osp.basename(f)[:-4] for f in files] == sorted(ids)
    for path in files:
        stem = osp.basename(path)[:-4]
        file_keys, exported = load_map_file(path)
        keys = sorted(labels[stem])
        assert file_keys.tolist() == keys
        assert exported['cam'].shape == (len(keys), 16, 16)
        assert exported['high_res'].shape == (len(keys), 64, 64)
        assert exported['high_res'].min() >= 0 and exported['high_res'].max() <= 1
        # the format the Labels and Thresholds stages read
        loaded = LoadCAMs(cam_dir=osp.dirname(path), high_res=True).transform(
            dict(img_path=f'/x/{stem}.jpg', ori_shape=(64, 64))
        )
        assert loaded['cam_keys'].tolist() == keys
