"""Runner-level test of the AffinityNet stage on fabricated PSA labels and CAMs."""

import glob
import json
import os
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.runner import Runner
from PIL import Image
from scipy import ndimage

import mmwsss  # noqa: F401
from mmwsss.datasets.fashionpaste import generate_fashionpaste

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


@pytest.mark.slow
def test_train_then_export_pseudo_masks(tmp_path):
    data_root = str(tmp_path / 'data')
    generate_fashionpaste(
        data_root, size='tiny', seed=0, source='subset', progress=False
    )
    psa_dir, cam_dir = str(tmp_path / 'psa_labels'), str(tmp_path / 'cams')
    ids = _fabricate_stage_inputs(data_root, psa_dir, cam_dir)

    cfg = Config.fromfile(CONFIG)
    cfg.work_dir = str(tmp_path / 'work')
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

    runner = Runner.from_cfg(cfg)
    runner.train()
    assert osp.exists(osp.join(cfg.work_dir, 'epoch_1.pth'))
    metrics = runner.test()
    assert 0 <= metrics['mIoU'] <= 100
    files = sorted(glob.glob(osp.join(cfg.work_dir, 'pseudo_labels', '*.png')))
    assert [osp.basename(f)[:-4] for f in files] == sorted(ids)
    with Image.open(files[0]) as im:
        assert im.size == (64, 64)
