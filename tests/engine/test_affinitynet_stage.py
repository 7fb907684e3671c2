"""Runner-level test of the AffinityNet stage on fabricated PSA labels and CAMs."""

import glob
import json
import os
import os.path as osp

import mmcv
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner
from PIL import Image
from scipy import ndimage

import mmwsss  # noqa: F401
from mmwsss.ops import psa_semantic_labels
from mmwsss.utils import safe_checkpoint_loader
from mmwsss.utils.map_file import load_map_file

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(
    ROOT, 'configs/affinitynet/affinitynet_effl0_1xb8-3e_fashionpaste-160.py'
)


def _fabricate_stage_inputs(data_root, psa_dir, cam_dir):
    """PSA labels (GT with an unsure band at object edges) and CAMs (blurred GT)."""
    os.makedirs(psa_dir)
    os.makedirs(cam_dir)
    labels = json.load(open(osp.join(data_root, 'cls_labels.json')))
    ids = open(osp.join(data_root, 'ImageSets/Segmentation/train.txt')).read().split()
    for image_id in ids:
        with Image.open(
            osp.join(data_root, 'SegmentationClass', image_id + '.png')
        ) as im:
            gt = np.array(im)
        edges = ndimage.maximum_filter(gt, 5) != ndimage.minimum_filter(gt, 5)
        Image.fromarray(np.where(edges, 255, gt).astype(np.uint8)).save(
            osp.join(psa_dir, image_id + '.png')
        )
        keys = np.array(labels[image_id], dtype=np.int64)
        high_res = np.stack(
            [ndimage.gaussian_filter((gt == k).astype(np.float32), 3) for k in keys]
        ).reshape(len(keys), *gt.shape)
        high_res /= high_res.reshape(len(keys), -1).max(1).clip(1e-5)[:, None, None]
        np.savez(
            osp.join(cam_dir, image_id + '.npz'),
            keys=keys.astype(np.int16),
            cam=high_res[:, ::4, ::4],
            high_res=high_res,
        )
    return ids


def _cfg(data_root, work_dir, psa_dir, cam_dir, **overrides):
    cfg = Config.fromfile(CONFIG)
    cfg.work_dir = work_dir
    cfg.model.backbone.pretrained = False
    cfg.model.test_cfg.steps = 32
    for name in ('train_dataloader', 'test_dataloader'):
        cfg[name].dataset.data_root = data_root
        cfg[name].num_workers = 0
        cfg[name].persistent_workers = False
    cfg.train_dataloader.batch_size = 4
    cfg.train_dataloader.dataset.data_prefix.seg_map_path = psa_dir
    cfg.train_dataloader.dataset.pipeline[2].scale = (64, 64)  # tiny images
    cfg.train_dataloader.dataset.pipeline[3].crop_size = (64, 64)
    cfg.model.data_preprocessor.size = (64, 64)
    loads = [p for p in cfg.test_dataloader.dataset.pipeline if p.type == 'LoadCAMs']
    loads[0].cam_dir = cam_dir
    cfg.train_cfg.max_epochs = 1
    cfg.param_scheduler[0].end = 1
    cfg.merge_from_dict(overrides)
    return cfg


@pytest.mark.slow
def test_train_then_export_pseudo_masks(tiny_fashionpaste, tmp_path):
    data_root = tiny_fashionpaste
    psa_dir, cam_dir = str(tmp_path / 'psa_labels'), str(tmp_path / 'cams')
    ids = _fabricate_stage_inputs(data_root, psa_dir, cam_dir)

    cfg = _cfg(data_root, str(tmp_path / 'work'), psa_dir, cam_dir)
    runner = Runner.from_cfg(cfg)
    runner.train()
    ckpt = osp.join(cfg.work_dir, 'epoch_1.pth')
    assert osp.exists(ckpt)
    metrics = runner.test()
    files = sorted(glob.glob(osp.join(cfg.work_dir, 'pseudo_labels', '*.png')))
    assert [osp.basename(f)[:-4] for f in files] == sorted(ids)
    with Image.open(files[0]) as im:
        assert im.size == (64, 64)

    # Each written mask is the walk of its own image's CAMs (read from the
    # file) over the trained net's affinities of that image.
    model, test_cfg = runner.model.eval(), cfg.model.test_cfg
    for path in files:
        image_id = osp.basename(path)[:-4]
        rgb = mmcv.imread(
            osp.join(data_root, 'JPEGImages', image_id + '.jpg'), channel_order='rgb'
        )
        image = torch.from_numpy((rgb.astype(np.float32) - 127) / 128).permute(2, 0, 1)
        with torch.no_grad():
            affinity = model.encode_decode(image[None], None)[0]
        keys, maps = load_map_file(osp.join(cam_dir, image_id + '.npz'))
        cams = torch.from_numpy(maps['high_res'])
        expected = psa_semantic_labels(
            cams,
            keys,
            affinity,
            (64, 64),
            radius=test_cfg.radius,
            beta=test_cfg.beta,
            steps=test_cfg.steps,
            alpha=test_cfg.alpha,
        )
        np.testing.assert_array_equal(np.array(Image.open(path)), expected.numpy())
    # Eight 64 x 64 images teach no affinities that hold the walk back: 32 steps
    # over the 8 x 8 affinity map (radius 5) mix the maps to near uniform, 9.5
    # mIoU after 1 and after 20 epochs alike (all background 6.7), so that
    # score bounds nothing; the agreement above checks what was written. With
    # no step the same stage scores the CAMs through its background score,
    # pooling and upsampling: 72.8 mIoU, where all-background masks (6.7), one
    # class per image (10.5) or masks of misplaced or misread CAMs fall far
    # below 60.
    assert 'mIoU' in metrics
    no_walk = _cfg(
        data_root, str(tmp_path / 'no_walk'), psa_dir, cam_dir, load_from=ckpt
    )
    no_walk.model.test_cfg.steps = 0
    with safe_checkpoint_loader():  # a Runner checkpoint under torch >= 2.6
        no_walk_metrics = Runner.from_cfg(no_walk).test()
    assert no_walk_metrics['mIoU'] >= 60
