"""ValCurveHook keeps every validation of a run, across resumed runs."""

import json
import os.path as osp
from types import SimpleNamespace

import pytest

from mmwsss.engine.hooks import ValCurveHook


def _runner(tmp_path, step, epoch=0):
    return SimpleNamespace(work_dir=str(tmp_path), iter=step, epoch=epoch)


def test_points_are_appended_and_a_resume_drops_later_ones(tmp_path):
    hook = ValCurveHook()
    hook.before_train(_runner(tmp_path, 0))
    hook.after_val_epoch(_runner(tmp_path, 100), dict(mIoU=40.0))
    hook.after_val_epoch(_runner(tmp_path, 200), dict(mIoU=50.0))
    hook.after_val_epoch(_runner(tmp_path, 300), dict(mIoU=55.0))
    path = osp.join(tmp_path, 'val_curve.json')
    assert [p['step'] for p in json.load(open(path))] == [100, 200, 300]
    # resumed from the checkpoint of iteration 200: the point at 300 is redone
    hook.before_train(_runner(tmp_path, 200))
    hook.after_val_epoch(_runner(tmp_path, 300), dict(mIoU=56.0))
    points = ValCurveHook.read(path)
    assert [(p['step'], p['mIoU']) for p in points] == [
        (100, 40.0),
        (200, 50.0),
        (300, 56.0),
    ]
    assert not osp.exists(path + '.part')


def test_bad_file_name():
    with pytest.raises(ValueError, match='plain file name'):
        ValCurveHook(file_name='a/b.json')
