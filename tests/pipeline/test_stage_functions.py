import json
import os.path as osp

import numpy as np
import pytest
from mmengine.hooks import Hook
from mmengine.registry import HOOKS
from PIL import Image

from mmwsss.datasets.fashionpaste import generate_fashionpaste
from mmwsss.pipeline import all_background_miou, run_cam_stage

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs/cam/cam_effl0_1xb16-8e_fashionpaste-160.py')


def test_all_background_miou_hand_case(tmp_path):
    a = np.zeros((2, 4), np.uint8)
    a[0, :2] = 1  # 6 bg, 2 class-1
    b = np.full((2, 4), 255, np.uint8)
    b[1] = [0, 2, 2, 0]  # 2 bg, 2 class-2, 4 ignored
    paths = []
    for name, mask in (('a', a), ('b', b)):
        Image.fromarray(mask).save(tmp_path / f'{name}.png')
        paths.append(str(tmp_path / f'{name}.png'))
    # bg IoU = 8 / 12; classes 0, 1, 2 present -> mean over 3
    assert all_background_miou(paths, 4) == pytest.approx(100 * (8 / 12) / 3)


@HOOKS.register_module(force=True)
class _CountValRuns(Hook):
    runs = 0

    def before_val(self, runner):
        type(self).runs += 1


@pytest.mark.slow
def test_run_cam_stage_then_skip(tmp_path):
    data = str(tmp_path / 'data')
    generate_fashionpaste(data, size='tiny', seed=0, source='subset', progress=False)
    options = {
        'model.backbone.pretrained': False,
        'model.test_cfg.scales': (1.0,),
        'train_cfg.max_epochs': 1,
        'param_scheduler.0.end': 1,
        'train_dataloader.batch_size': 4,
        'custom_hooks': [
            dict(type='WSSSClassNumCheckHook'),
            dict(type='_CountValRuns'),
        ],
    }
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        options[f'{name}.num_workers'] = 0
        options[f'{name}.persistent_workers'] = False
    work = str(tmp_path / 'work')
    first = run_cam_stage(CONFIG, work, data, options)
    assert first['finished'] and not first['skipped']
    assert _CountValRuns.runs == 1  # validated once, not also inside training
    assert first['num_images'] == 8
    assert 0 <= first['test']['seed/mIoU'] <= first['test']['seed/mIoU_best'] <= 100
    assert 'cls/mAP' in first['val']
    with open(osp.join(work, 'cam_stage.json')) as f:
        assert json.load(f)['test'] == first['test']
    second = run_cam_stage(CONFIG, work, data, options)
    assert second['skipped'] and second['test'] == first['test']
    # another config is another stage: it runs again
    third = run_cam_stage(CONFIG, work, data, {**options, 'model.test_cfg.flip': False})
    assert not third['skipped']


def test_set_transform_args_reaches_every_pipeline():
    from mmengine.config import Config

    from mmwsss.pipeline import set_transform_args

    cfg = Config.fromfile(CONFIG)
    assert set_transform_args(cfg, 'LoadImageFromFileChecked', to_float32=True) == 3
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert cfg[name].dataset.pipeline[0].to_float32 is True
    assert set_transform_args(cfg, 'NoSuchTransform', x=1) == 0
