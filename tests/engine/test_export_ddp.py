"""Seed export under torchrun: each rank writes its shard; together they equal a
single-process export, and the seed metric is the same."""

import glob
import json
import os
import os.path as osp
import shutil
import socket
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

import mmwsss  # noqa: F401
from mmwsss.utils import safe_checkpoint_loader
from mmwsss.utils.map_file import load_map_file

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs/cam/cam_effl0_1xb16-8e_fashionpaste-160.py')


def _options(data_root):
    options = {
        'model.backbone.pretrained': False,
        'model.test_cfg.scales': (1.0, 0.5),
        'train_cfg.max_epochs': 1,
        'param_scheduler.0.end': 1,
        'train_dataloader.batch_size': 4,
    }
    # 7 images on 2 ranks: the sampler pads rank 1 with a repeat of image 0
    options['test_dataloader.dataset.ann_file'] = 'ImageSets/Segmentation/train7.txt'
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        options[f'{name}.dataset.data_root'] = data_root
        options[f'{name}.num_workers'] = 0
        options[f'{name}.persistent_workers'] = False
    return options


def _free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _dist_test(config, ckpt, nproc, work_dir, options, cwd, **env):
    """tools/dist_test.sh with ``nproc`` CPU processes; fails with its output."""
    env = dict(os.environ, PYTHON=sys.executable, PORT=str(_free_port()), **env)
    proc = subprocess.run(
        ['bash', osp.join(ROOT, 'tools/dist_test.sh'), config, ckpt, str(nproc)]
        + ['--work-dir', work_dir, '--cfg-options', *options],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


@pytest.mark.slow
@pytest.mark.skipif(torch.cuda.is_available(), reason='one GPU per process there')
def test_two_process_export_matches_one_process(tiny_cam, tmp_path):
    data = str(tmp_path / 'data')
    shutil.copytree(tiny_cam.data_root, data)  # adds a split file: a copy
    split = osp.join(data, 'ImageSets/Segmentation')
    with open(osp.join(split, 'train.txt')) as f:
        ids = f.read().split()[:7]
    with open(osp.join(split, 'train7.txt'), 'w') as f:
        f.write('\n'.join(ids) + '\n')
    cfg = Config.fromfile(CONFIG)
    cfg.merge_from_dict(_options(data))
    cfg.work_dir = str(tmp_path / 'one')
    ckpt = tiny_cam.checkpoint  # the session's trained classifier
    cfg.load_from = ckpt
    runner = Runner.from_cfg(cfg)
    with safe_checkpoint_loader():  # a Runner checkpoint under torch >= 2.6
        single = runner.test()

    two = str(tmp_path / 'two')
    cli_options = [
        f'{k}={list(v) if isinstance(v, tuple) else v}'.replace(' ', '')
        for k, v in _options(data).items()
    ]
    _dist_test(CONFIG, ckpt, 2, two, cli_options, str(tmp_path))

    one_files = sorted(glob.glob(osp.join(tmp_path, 'one', 'cams', '*.npz')))
    two_files = sorted(glob.glob(osp.join(two, 'cams', '*.npz')))
    assert [osp.basename(f) for f in one_files] == [osp.basename(f) for f in two_files]
    assert len(one_files) == 7
    for a, b in zip(one_files, two_files):
        keys_a, x = load_map_file(a)
        keys_b, y = load_map_file(b)
        assert np.array_equal(keys_a, keys_b)
        # thread counts differ per process: conv kernels sum in another order,
        # and a value near a rounding edge of the 8-bit storage may take the
        # next level (1 / 255)
        assert np.allclose(x['high_res'], y['high_res'], atol=1e-3 + 1 / 255)
        assert np.allclose(x['cam'], y['cam'], atol=1e-3 + 1 / 255)
    sweep_one = json.load(
        open(osp.join(tmp_path, 'one', 'seed_eval', 'seed_sweep.json'))
    )
    sweep_two = json.load(open(osp.join(two, 'seed_eval', 'seed_sweep.json')))
    # every image scored once although the padded sampler repeats one per rank
    assert sweep_two['num_images'] == sweep_one['num_images'] == 7
    assert np.allclose(sweep_one['mIoU'], sweep_two['mIoU'], atol=0.05)
    assert single['seed/mIoU'] == pytest.approx(sweep_two['mIoU_fixed'], abs=0.05)


@pytest.mark.slow
@pytest.mark.skipif(torch.cuda.is_available(), reason='one GPU per process there')
def test_two_process_pseudo_labels_are_byte_identical(tiny_irn, tmp_path):
    """IRN pseudo-mask export with torchrun: 2 processes write the same PNG bytes
    as 1 process (one thread each, so the kernels sum in the same order)."""
    from test_irn_stage import CONFIG as IRN_CONFIG

    data, ids = tiny_irn.data_root, tiny_irn.ids
    ir_dir, cam_dir, ckpt = tiny_irn.ir_dir, tiny_irn.cam_dir, tiny_irn.checkpoint

    options = [
        f'{name}.{key}={value}'
        for name in ('train_dataloader', 'test_dataloader')
        for key, value in (
            ('dataset.data_root', data),
            ('num_workers', 0),
            ('persistent_workers', False),
        )
    ]
    options += [
        f'train_dataloader.dataset.data_prefix.seg_map_path={ir_dir}',
        f'test_dataloader.dataset.pipeline.2.cam_dir={cam_dir}',
        'model.backbone.pretrained=False',
        'model.data_preprocessor.size=[64,64]',
    ]
    outputs = {}
    for nproc in (1, 2):
        work_dir = str(tmp_path / f'p{nproc}')
        _dist_test(
            IRN_CONFIG,
            ckpt,
            nproc,
            work_dir,
            options,
            str(tmp_path),
            OMP_NUM_THREADS='1',
        )
        files = sorted(glob.glob(osp.join(work_dir, 'pseudo_labels', '*.png')))
        outputs[nproc] = {osp.basename(f): open(f, 'rb').read() for f in files}
    assert sorted(outputs[1]) == sorted(f'{i}.png' for i in ids)
    assert outputs[1] == outputs[2]
