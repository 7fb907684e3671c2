"""Runner-level tests of the CAM stage: train, export seeds, score, resume."""

import glob
import json
import os
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.runner import Runner

import mmwsss  # noqa: F401
from mmwsss.datasets.fashionpaste import generate_fashionpaste
from mmwsss.utils import safe_checkpoint_loader

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs/cam/cam_effl0_1xb16-8e_fashionpaste-160.py')


@pytest.fixture(scope='module')
def tiny_data(tmp_path_factory):
    root = tmp_path_factory.mktemp('fashionpaste')
    generate_fashionpaste(
        str(root), size='tiny', seed=0, source='subset', progress=False
    )
    return str(root)


def _cfg(data_root, work_dir, **overrides):
    cfg = Config.fromfile(CONFIG)
    cfg.work_dir = work_dir
    cfg.model.backbone.pretrained = False
    cfg.model.test_cfg.scales = (1.0, 0.5)
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg[name]
        loader.dataset.data_root = data_root
        loader.num_workers = 0
        loader.persistent_workers = False
    cfg.train_dataloader.batch_size = 4
    cfg.train_cfg.max_epochs = 1
    cfg.train_cfg.val_interval = 1
    cfg.param_scheduler[0].end = 1
    cfg.default_hooks.checkpoint.interval = 1
    cfg.merge_from_dict(overrides)
    return cfg


@pytest.mark.slow
def test_train_export_score_and_resume_export(tiny_data, tmp_path):
    work_dir = str(tmp_path / 'work')
    runner = Runner.from_cfg(_cfg(tiny_data, work_dir))
    runner.train()
    ckpt = osp.join(work_dir, 'epoch_1.pth')
    assert osp.exists(ckpt)

    runner = Runner.from_cfg(_cfg(tiny_data, work_dir, load_from=ckpt))
    with safe_checkpoint_loader():  # a Runner checkpoint under torch >= 2.6
        metrics = runner.test()
    assert 0 <= metrics['seed/mIoU'] <= 100
    assert metrics['seed/mIoU_best'] >= metrics['seed/mIoU']
    train_ids = (
        open(osp.join(tiny_data, 'ImageSets/Segmentation/train.txt')).read().split()
    )
    labels = json.load(open(osp.join(tiny_data, 'cls_labels.json')))
    files = sorted(glob.glob(osp.join(work_dir, 'cams', '*.npz')))
    assert [osp.basename(f)[:-4] for f in files] == sorted(train_ids)
    with np.load(files[0]) as data:
        stem = osp.basename(files[0])[:-4]
        assert data['keys'].tolist() == labels[stem]
        assert data['high_res'].shape == (len(labels[stem]), 64, 64)
        assert data['cam'].shape == (len(labels[stem]), 16, 16)
        # max-normalised (peak / (peak + 1e-5)): the peak is close to, not above, 1
        peaks = data['high_res'].reshape(len(labels[stem]), -1).max(1)
        assert np.all(peaks <= 1) and np.all(peaks > 0.9)
    curve = json.load(open(osp.join(work_dir, 'seed_eval', 'seed_sweep.json')))
    assert curve['num_images'] == len(train_ids)
    assert osp.exists(osp.join(work_dir, 'seed_eval', 'seed_sweep.png'))

    # an interrupted export: two files lost, one partial file left behind
    before = {f: open(f, 'rb').read() for f in files}
    os.remove(files[0])
    os.remove(files[1])
    open(files[1] + '.part', 'wb').write(b'truncated')
    runner = Runner.from_cfg(_cfg(tiny_data, work_dir, load_from=ckpt))
    with safe_checkpoint_loader():
        metrics2 = runner.test()
    loop = runner.test_loop
    assert (loop.num_written, loop.num_reused) == (2, len(train_ids) - 2)
    assert not glob.glob(osp.join(work_dir, 'cams', '*.part'))
    assert {f: open(f, 'rb').read() for f in files} == before
    assert metrics2 == metrics


def test_class_count_mismatch_is_reported(tiny_data, tmp_path):
    cfg = _cfg(tiny_data, str(tmp_path / 'work'))
    cfg.model.head.num_classes = 5
    runner = Runner.from_cfg(cfg)
    with pytest.raises(ValueError, match='has 10 foreground classes.*num_classes=5'):
        runner.train()
