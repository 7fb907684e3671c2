"""Fixtures shared by the pipeline tests."""

import os
import shutil

import numpy as np
import pytest
from PIL import Image

from mmwsss.datasets import split_ids
from mmwsss.datasets.fashionpaste import generate_fashionpaste


@pytest.fixture(scope='session')
def shared_pipeline(tmp_path_factory):
    """A data root and work dir that the tiny pipeline tests share.

    Stages of the same record (data, cam, thresholds, ir_labels, irn, ...)
    run once for every test that lists them (the runner's provenance rules);
    each test adds its own stages under names of its own.

    Returns:
        tuple[str, str]: The data root and the work dir (not made yet).
    """
    root = tmp_path_factory.mktemp('shared_pipeline')
    return str(root / 'data'), str(root / 'work')


def _finished(folder):
    return dict(finished=True, digest='x', out_dir=folder, outputs=dict(labels=folder))


@pytest.fixture(scope='module')
def label_folders(tmp_path_factory):
    """A tiny FashionPaste set and two finished label stages of its train
    split: ``exact`` (the ground truth) and ``bg`` (all background).

    Returns:
        tuple: the work root, the data root and the stage results by name.
    """
    root = tmp_path_factory.mktemp('tiny')
    data = str(root / 'data')
    generate_fashionpaste(data, size='tiny', seed=0, source='subset', progress=False)
    exact = str(root / 'exact')
    shutil.copytree(f'{data}/SegmentationClass', exact, dirs_exist_ok=True)
    background = str(root / 'background')
    os.makedirs(background, exist_ok=True)
    for image_id in split_ids(data, 'train'):
        gt = np.asarray(Image.open(f'{data}/SegmentationClass/{image_id}.png'))
        Image.fromarray(np.zeros_like(gt)).save(f'{background}/{image_id}.png')
    return root, data, {'exact': _finished(exact), 'bg': _finished(background)}
