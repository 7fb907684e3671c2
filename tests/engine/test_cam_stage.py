"""Runner-level tests of the CAM stage: train, export seeds, score, resume."""

import glob
import json
import os
import os.path as osp
import shutil

import mmcv
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.runner import Runner
from PIL import Image

import mmwsss  # noqa: F401
from mmwsss.utils import safe_checkpoint_loader
from mmwsss.utils.map_file import load_map_file

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs/cam/cam_effl0_1xb16-8e_fashionpaste-160.py')
NUM_CLASSES = 11  # FashionPaste: background + 10


def _cfg(data_root, work_dir, **overrides):
    cfg = Config.fromfile(CONFIG)
    cfg.work_dir = work_dir
    cfg.model.backbone.pretrained = False
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg[name]
        loader.dataset.data_root = data_root
        loader.num_workers = 0
        loader.persistent_workers = False
    cfg.train_dataloader.batch_size = 4
    cfg.train_cfg.max_epochs = 1
    cfg.param_scheduler[0].end = 1
    cfg.merge_from_dict(overrides)
    return cfg


def _reference_cams(model, image_path, keys, scales):
    """The CAM definition, written out: the rectified class maps
    ``relu(W f(x))`` of the image and of its mirror image (mirrored back) at
    each scale, resized to the image and summed, the image's classes kept, each
    map divided by its peak (+ 1e-5)."""
    rgb = mmcv.imread(image_path, channel_order='rgb').astype(np.float32)
    image = torch.from_numpy((rgb - 127.0) / 128.0).permute(2, 0, 1)[None]
    height, width = image.shape[-2:]
    total = 0
    with torch.no_grad():
        for scale in scales:
            size = (round(height * scale), round(width * scale))
            x = F.interpolate(image, size=size, mode='bilinear', align_corners=False)
            for flip in (False, True):
                maps = F.relu(model.head.cam(model.backbone(x.flip(-1) if flip else x)))
                maps = maps.flip(-1) if flip else maps
                total = total + F.interpolate(
                    maps, size=(height, width), mode='bilinear', align_corners=False
                )
    cams = total[0, torch.as_tensor(keys) - 1]
    return (cams / (cams.flatten(1).max(1).values[:, None, None] + 1e-5)).numpy()


def _seed_miou(cam_files, data_root, bg_score):
    """Seed mIoU (%) computed by hand: a pixel takes its strongest class where
    that class's map is above ``bg_score``, else background; IoU per class
    over the classes present in the ground truth or the seeds."""
    conf = np.zeros((NUM_CLASSES, NUM_CLASSES), np.int64)
    for path in cam_files:
        stem = osp.basename(path)[:-4]
        gt = np.array(
            Image.open(osp.join(data_root, 'SegmentationClass', stem + '.png'))
        )
        keys, maps = load_map_file(path, ('high_res',))
        cams = maps['high_res']
        seeds = np.where(cams.max(0) > bg_score, keys[cams.argmax(0)], 0)
        valid = gt != 255
        np.add.at(conf, (gt[valid], seeds[valid]), 1)
    inter = np.diag(conf)
    union = conf.sum(0) + conf.sum(1) - inter
    return 100 * np.mean(inter[union > 0] / union[union > 0])


@pytest.mark.slow
def test_train_export_score_and_resume_export(tiny_cam, tmp_path):
    data_root = tiny_cam.data_root
    assert osp.exists(tiny_cam.checkpoint)
    metrics = tiny_cam.metrics
    assert metrics['seed/mIoU_best'] >= metrics['seed/mIoU']
    train_ids = (
        open(osp.join(data_root, 'ImageSets/Segmentation/train.txt')).read().split()
    )
    labels = json.load(open(osp.join(data_root, 'cls_labels.json')))
    files = sorted(glob.glob(osp.join(tiny_cam.cam_dir, '*.npz')))
    assert [osp.basename(f)[:-4] for f in files] == sorted(train_ids)
    keys, data = load_map_file(files[0])
    stem = osp.basename(files[0])[:-4]
    assert keys.tolist() == labels[stem]
    assert data['high_res'].shape == (len(labels[stem]), 64, 64)
    assert data['cam'].shape == (len(labels[stem]), 16, 16)
    # max-normalised (peak / (peak + 1e-5)): the peak is close to, not above, 1
    peaks = data['high_res'].reshape(len(labels[stem]), -1).max(1)
    assert np.all(peaks <= 1) and np.all(peaks > 0.9)
    curve = json.load(open(osp.join(tiny_cam.work_dir, 'seed_eval', 'seed_sweep.json')))
    assert curve['num_images'] == len(train_ids)
    assert osp.exists(osp.join(tiny_cam.work_dir, 'seed_eval', 'seed_sweep.png'))

    # The score is the exported seeds' score: the metric's whole background sweep
    # equals a hand count over the files. Eight images teach the classifier no
    # localisation (seed mIoU 6-8, the all-background floor 6.7), so a bound on
    # the value itself would not separate a right export from a wrong one; the
    # agreement does: an export of zeros, of constant or of another image's maps
    # would have to be scored as these files are (seed mIoU = floor for zeros).
    hand = [_seed_miou(files, data_root, t) for t in curve['bg_scores']]
    assert np.allclose(curve['mIoU'], hand, atol=0.01)
    fixed = curve['bg_scores'].index(0.15)
    assert metrics['seed/mIoU'] == pytest.approx(hand[fixed], abs=0.01)
    assert metrics['seed/mIoU_best'] == pytest.approx(max(hand), abs=0.01)

    # an interrupted export: two files lost, one partial file left behind
    work_dir = str(tmp_path / 'work')
    cam_dir = osp.join(work_dir, 'cams')
    shutil.copytree(tiny_cam.cam_dir, cam_dir)  # the shared export stays whole
    files = sorted(glob.glob(osp.join(cam_dir, '*.npz')))
    before = {osp.basename(f): open(f, 'rb').read() for f in files}
    os.remove(files[0])
    os.remove(files[1])
    open(files[1] + '.part', 'wb').write(b'truncated')
    cfg = Config.fromfile(tiny_cam.config)
    cfg.work_dir = work_dir
    cfg.load_from = tiny_cam.checkpoint
    runner = Runner.from_cfg(cfg)
    with safe_checkpoint_loader():  # a Runner checkpoint under torch >= 2.6
        metrics2 = runner.test()
    loop = runner.test_loop
    assert (loop.num_written, loop.num_reused) == (2, len(train_ids) - 2)
    assert not glob.glob(osp.join(cam_dir, '*.part'))
    assert {osp.basename(f): open(f, 'rb').read() for f in files} == before
    assert metrics2 == metrics

    # every exported map is the CAM of its own image and classes, as the
    # trained weights (loaded above) compute it
    model = runner.model.eval()
    for path in files:
        stem = osp.basename(path)[:-4]
        expected = _reference_cams(
            model,
            osp.join(data_root, 'JPEGImages', stem + '.jpg'),
            labels[stem],
            cfg.model.test_cfg.scales,
        )
        # stored in 8 bits: within half a level (1 / 510) of the CAM
        high_res = load_map_file(path, ('high_res',))[1]['high_res']
        np.testing.assert_allclose(high_res, expected, atol=1 / 510 + 1e-4)


def test_class_count_mismatch_is_reported(tiny_fashionpaste, tmp_path):
    cfg = _cfg(tiny_fashionpaste, str(tmp_path / 'work'))
    cfg.model.head.num_classes = 5
    runner = Runner.from_cfg(cfg)
    with pytest.raises(ValueError, match='has 10 foreground classes.*num_classes=5'):
        runner.train()
