"""OAAHook: accumulation over epochs as OAA does it (the first epoch skipped,
top-k classes, min-max normalised, flips undone, the last epoch filling in),
the export's min-max normalisation, crops refused, checkpoints kept."""

import json
import os.path as osp
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmseg.structures import SegDataSample

import mmwsss  # noqa: F401
from mmwsss.engine.hooks import OAAHook


def test_accumulation_survives_a_checkpoint():
    hook = OAAHook()
    hook.accumulator.update('a', 3, np.full((2, 2), 0.5, np.float32))
    hook.accumulator.mark_seen('b')
    checkpoint = {}
    hook.before_save_checkpoint(None, checkpoint)
    resumed = OAAHook()
    resumed.after_load_checkpoint(None, checkpoint)
    assert resumed.accumulator.seen('a') and resumed.accumulator.seen('b')
    resumed.accumulator.update('a', 3, np.full((2, 2), 0.75, np.float32))
    np.testing.assert_array_equal(resumed.accumulator.maps['a'][3], 0.75)
    # a checkpoint of a run without the hook leaves it empty
    fresh = OAAHook()
    fresh.after_load_checkpoint(None, {})
    assert not fresh.accumulator.maps


def _sample(stem, labels, flip=False, img_shape=(8, 8)):
    """A 4x4 image resized to 8x8 (scale 2)."""
    sample = SegDataSample(
        metainfo=dict(
            img_path=f'/data/{stem}.jpg',
            ori_shape=(4, 4),
            img_shape=img_shape,
            scale_factor=(2.0, 2.0),
            flip=flip,
            flip_direction='horizontal' if flip else None,
        )
    )
    sample.gt_img_labels = torch.tensor(labels, dtype=torch.long)
    return sample


def _cam(blocks):
    """(3, 8, 8) CAM logits from (3, 4, 4) blocks of 2x2 pixels: the
    stride-1 map of the 4x4 image is then exactly the blocks (bilinear
    halving averages 2x2 cells)."""
    blocks = torch.tensor(blocks, dtype=torch.float32)
    return blocks.repeat_interleave(2, -2).repeat_interleave(2, -1)


ZERO = [[0.0] * 4] * 4


class _Dataset:
    def __init__(self, infos):
        self.infos = infos

    def __len__(self):
        return len(self.infos)

    def get_data_info(self, index):
        return self.infos[index]


def _step(hook, runner, samples, cams, logits):
    runner.model.last_train_maps = dict(
        cams=torch.stack([_cam(c) for c in cams]),
        logits=torch.tensor(logits, dtype=torch.float32),
        input_size=(8, 8),
    )
    hook.after_train_iter(runner, 0, dict(data_samples=samples))


def test_accumulation_over_epochs_by_hand(tmp_path):
    hook = OAAHook(out_dir=str(tmp_path / 'maps'), stride=1)
    assert hook.start_epoch == 1  # OAA skips the first epoch
    runner = SimpleNamespace(
        epoch=0,
        max_epochs=3,
        model=SimpleNamespace(),
        work_dir=str(tmp_path),
        cfg=Config(dict(model=dict(type='x'))),
        iter=9,
    )
    hook.before_train(runner)
    assert runner.model.keep_train_maps
    # scores of classes 1, 2, 3: top-2 are 1 and 3, so class 2 (a label of
    # image a) is not among its top-k
    logits = [[5.0, 0.0, 3.0]]
    # epoch 0: skipped (class 1 would light the bottom-right corner)
    corner = [row[:] for row in ZERO]
    corner[3][3] = 9.0
    _step(hook, runner, [_sample('a', [1, 2])], [[corner, corner, ZERO]], logits)
    _step(hook, runner, [_sample('b', [3])], [[ZERO, ZERO, corner]], logits)
    assert not hook.accumulator.maps
    # epoch 1: class 1 of a, ReLU then min-max (max 4, min 0); class 2 not
    # in the top-k; c has no class (seen, nothing accumulated)
    runner.epoch = 1
    first = [
        [0.0, 1.0, 2.0, 4.0],
        [0.0, 0.0, 2.0, 4.0],
        [-3.0, 0.0, 0.0, 0.0],
        [-3.0, 0.0, 0.0, 0.0],
    ]
    lit = [row[:] for row in ZERO]
    lit[1][1] = 4.0
    _step(
        hook,
        runner,
        [_sample('a', [1, 2]), _sample('c', [])],
        [
            [first, lit, ZERO],
            [ZERO, ZERO, ZERO],
        ],
        logits + logits,
    )
    assert sorted(hook.accumulator.maps) == ['a', 'c']
    assert not hook.accumulator.has('a', 2) and not hook.accumulator.maps['c']
    # epoch 2, the last: a flipped; class 1 never reaches 0 (min 1): min-max
    # gives (x - 1) / 2, a 1 in the input's top-left = the image's top-right;
    # class 2, still without a map, takes this epoch's attention whatever its
    # score, flipped back too
    runner.epoch = 2
    second = [[3.0, 3.0, 1.0, 1.0]] + [[1.0] * 4] * 3
    _step(
        hook, runner, [_sample('a', [1, 2], flip=True)], [[second, lit, ZERO]], logits
    )
    maps = hook.accumulator.maps['a']
    expected_1 = np.array(
        [
            [0.0, 0.25, 1.0, 1.0],  # max of epoch 1's row and the flipped [0 0 1 1]
            [0.0, 0.0, 0.5, 1.0],
            [0.0, 0.0, 0.0, 0.0],  # epoch 0's corner was never accumulated
            [0.0, 0.0, 0.0, 0.0],
        ]
    )
    np.testing.assert_allclose(maps[1].astype(np.float32), expected_1, atol=1e-6)
    expected_2 = np.zeros((4, 4))
    expected_2[1, 2] = 1.0  # input (1, 1) flipped back in a 4-wide image
    np.testing.assert_allclose(maps[2].astype(np.float32), expected_2, atol=1e-6)

    # the export: every training image in the dataset, b never accumulated
    infos = [
        dict(img_path=f'/data/{s}.jpg', img_labels=labels, height=4, width=4)
        for s, labels in (('a', [1, 2]), ('b', [3]), ('c', []))
    ]
    runner.train_dataloader = SimpleNamespace(dataset=_Dataset(infos))
    hook.after_train(runner)
    out = tmp_path / 'maps'
    with np.load(out / 'a.npz') as data:
        assert data['keys'].tolist() == [1, 2]
        np.testing.assert_allclose(data['cam'][0], expected_1, atol=1e-6)
        np.testing.assert_allclose(data['cam'][1], expected_2, atol=1e-6)
        assert data['high_res'].shape == (2, 4, 4)  # stride 1: the same grid
    with np.load(out / 'c.npz') as data:
        assert data['keys'].tolist() == [] and data['cam'].shape == (0, 4, 4)
    assert not osp.exists(out / 'b.npz')
    report = json.loads((out / 'unseen_images.json').read_text())
    assert report == dict(unseen=['b'], classes_never_attended=0, written=2)


def test_export_is_min_max_normalised(tmp_path):
    hook = OAAHook(out_dir=str(tmp_path / 'maps'), stride=2)
    # a 4x4 image's stride-2 map that never reaches 0 nor 1
    hook.accumulator.update('d', 1, np.array([[0.2, 0.4], [0.6, 0.6]], np.float32))
    runner = SimpleNamespace(
        work_dir=str(tmp_path),
        cfg=Config(dict(model=dict(type='x'))),
        iter=1,
        train_dataloader=SimpleNamespace(
            dataset=_Dataset(
                [dict(img_path='/data/d.jpg', img_labels=[1, 3], height=4, width=4)]
            )
        ),
    )
    hook.after_train(runner)
    with np.load(tmp_path / 'maps' / 'd.npz') as data:
        assert data['keys'].tolist() == [1, 3]
        # float16 storage of the accumulation: 0.2 -> 0.19995..., 0.6 -> 0.6001
        np.testing.assert_allclose(data['cam'][0], [[0, 0.5], [1, 1]], atol=1e-3)
        assert data['cam'][1].max() == 0  # class 3 was never attended
        high = data['high_res']
        assert high.shape == (2, 4, 4) and high.min() >= 0 and high.max() <= 1
    report = json.loads((tmp_path / 'maps' / 'unseen_images.json').read_text())
    assert report['classes_never_attended'] == 1


def test_a_short_run_fills_in_at_its_last_epoch(tmp_path):
    # one epoch, before start_epoch: every class of every image takes the
    # epoch's attention, whatever its score (no map would be written else)
    hook = OAAHook(stride=1)
    runner = SimpleNamespace(epoch=0, max_epochs=1, model=SimpleNamespace())
    lit = [row[:] for row in ZERO]
    lit[0][0] = 2.0
    _step(hook, runner, [_sample('a', [2])], [[ZERO, lit, ZERO]], [[9.0, 0.0, 5.0]])
    assert hook.accumulator.maps['a'][2][0, 0] == 1
    # once a class has a map, a repeat (DDP padding) before start_epoch
    # leaves it alone
    corner = [row[:] for row in ZERO]
    corner[3][3] = 1.0
    _step(hook, runner, [_sample('a', [2])], [[ZERO, corner, ZERO]], [[0.0, 9.0, 0.0]])
    assert hook.accumulator.maps['a'][2][3, 3] == 0


def test_a_cropped_input_is_an_error_from_the_first_iteration():
    hook = OAAHook()
    runner = SimpleNamespace(epoch=0, max_epochs=8, model=SimpleNamespace())
    cropped = _sample('a', [1], img_shape=(6, 8))  # 8x8 resized, cut to 6x8
    with pytest.raises(ValueError, match='cropped.*remove the crop'):
        _step(hook, runner, [cropped], [[ZERO, ZERO, ZERO]], [[1.0, 0.0, 0.0]])
    with pytest.raises(ValueError, match='start_epoch'):
        OAAHook(start_epoch=-1)
