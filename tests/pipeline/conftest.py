"""Fixtures shared by the pipeline tests."""

import os
import os.path as osp
import shutil

import numpy as np
import pytest
from PIL import Image
from scipy.ndimage import gaussian_filter

from mmwsss.datasets import split_ids
from mmwsss.datasets.fashionpaste import generate_fashionpaste
from mmwsss.pipeline.stages import BaseStage
from mmwsss.registry import STAGES
from mmwsss.utils.provenance import write_provenance


def oracle_cams(gt: np.ndarray, shift: int = 2, sigma: float = 2.0) -> tuple:
    """CAMs faked from a ground-truth mask: each present class's mask shifted
    by ``shift`` pixels, blurred and max-normalised (a good classifier's maps,
    not a perfect one). Returns ``(keys, high_res)``."""
    keys = np.array([c for c in np.unique(gt) if 0 < c < 255], np.int16)
    cams = np.stack(
        [
            gaussian_filter(np.roll(gt == k, shift, axis=1).astype(np.float32), sigma)
            for k in keys
        ]
    ).reshape(len(keys), *gt.shape)
    cams /= cams.max(axis=(1, 2), keepdims=True) + 1e-5
    return keys, cams


@STAGES.register_module()
class OracleCAMs(BaseStage):
    """A test-only stage kind (defined outside mmwsss: one class, no runner
    edit): CAM files in the exporter's format made from the split's ground
    truth (:func:`oracle_cams`), so that the stages after it have inputs good
    enough to be held to a quality bound."""

    def run(self, ctx, split: str = 'train') -> dict:
        out = osp.abspath(osp.join(ctx.stage_dir(self.name), 'cams'))
        os.makedirs(out, exist_ok=True)
        write_provenance(out, dict(kind='oracle cams', data=ctx.data_root))
        for image_id in split_ids(ctx.data_root, split):
            gt = np.asarray(
                Image.open(f'{ctx.data_root}/SegmentationClass/{image_id}.png')
            )
            keys, cams = oracle_cams(gt)
            np.savez(
                f'{out}/{image_id}.npz', keys=keys, cam=cams[:, ::4, ::4], high_res=cams
            )
        return dict(kind='oracle cams', out_dir=out, outputs=dict(cams=out))


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
