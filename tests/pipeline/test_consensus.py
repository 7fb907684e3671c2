"""The Consensus stage: pseudo masks where several label folders agree."""

import os
import shutil

import numpy as np
import pytest
from PIL import Image

from mmwsss.datasets import split_ids
from mmwsss.ops.seed_labels import consensus_labels
from mmwsss.pipeline import PipelineContext, run_stage


def test_consensus_keeps_agreement_and_ignores_the_rest():
    a = np.array([[0, 1, 2], [3, 255, 0]])
    b = np.array([[0, 1, 1], [3, 255, 255]])
    c = np.array([[0, 2, 1], [3, 255, 0]])
    assert consensus_labels([a, b]).tolist() == [[0, 1, 255], [3, 255, 255]]
    assert consensus_labels([a, b, c]).tolist() == [[0, 255, 255], [3, 255, 255]]
    assert consensus_labels([a, a]).dtype == np.uint8
    with pytest.raises(ValueError, match='two or more'):
        consensus_labels([a])
    with pytest.raises(ValueError, match='one size'):
        consensus_labels([a, a[:, :2]])


def test_stage_writes_the_agreement_and_scores_it(label_folders, tmp_path):
    root, data, results = label_folders
    # a copy of the background folder: this test deletes one of its masks
    background = str(tmp_path / 'background')
    shutil.copytree(results['bg']['out_dir'], background)
    ids = split_ids(data, 'train')
    ctx = PipelineContext(data, str(tmp_path / 'work'))
    copied = dict(results['bg'], out_dir=background, outputs=dict(labels=background))
    ctx.results = dict(results, bg=copied)
    result = run_stage(
        ctx, dict(name='agree', type='Consensus', labels=['exact', 'bg.labels'])
    )
    assert result['written'] == len(ids)
    out = result['outputs']['labels']
    for image_id in ids:
        gt = np.asarray(Image.open(f'{data}/SegmentationClass/{image_id}.png'))
        got = np.asarray(Image.open(f'{out}/{image_id}.png'))
        # the ground truth's background survives, its objects become 'unsure'
        assert np.array_equal(got, np.where(gt == 0, 0, 255))
    metrics = result['metrics']
    assert metrics['precision'] == pytest.approx(100.0)
    assert 0 < metrics['coverage'] < 100
    with pytest.raises(ValueError, match='two or more'):
        run_stage(ctx, dict(name='agree', type='Consensus', labels=['exact']))
    Image.fromarray(np.zeros((3, 3), np.uint8)).save(f'{background}/{ids[0]}.png')
    with pytest.raises(ValueError, match=f'image {ids[0]} of .*one size'):
        run_stage(ctx, dict(name='agree', type='Consensus', labels=['exact', 'bg']))
    os.remove(f'{background}/{ids[0]}.png')
    with pytest.raises(FileNotFoundError, match=ids[0]):
        run_stage(ctx, dict(name='agree', type='Consensus', labels=['exact', 'bg']))
