"""The LabelQuality stage: several label folders scored side by side."""

import os
import shutil

import numpy as np
import pytest
from PIL import Image

from mmwsss.datasets import split_ids
from mmwsss.datasets.fashionpaste import generate_fashionpaste
from mmwsss.pipeline.stage_runner import (
    MissingInputError,
    PipelineContext,
    _check_stages,
    input_refs,
)
from mmwsss.registry import STAGES


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp('tiny')
    data = str(root / 'data')
    generate_fashionpaste(data, size='tiny', seed=0, source='subset', progress=False)
    return root, data


def _finished(folder):
    return dict(finished=True, digest='x', out_dir=folder, outputs=dict(labels=folder))


def test_scores_each_folder_with_outline_metrics(tiny):
    root, data = tiny
    exact = str(root / 'exact')
    shutil.copytree(f'{data}/SegmentationClass', exact, dirs_exist_ok=True)
    background = str(root / 'background')
    os.makedirs(background, exist_ok=True)
    for image_id in split_ids(data, 'train'):
        gt = np.asarray(Image.open(f'{data}/SegmentationClass/{image_id}.png'))
        Image.fromarray(np.zeros_like(gt)).save(f'{background}/{image_id}.png')
    ctx = PipelineContext(data, str(root / 'work'))
    ctx.results = {'exact': _finished(exact), 'bg': _finished(background)}
    result = STAGES.get('LabelQuality')(ctx, 'quality', labels=['exact.labels', 'bg'])
    scores = result['scores']
    assert list(scores) == ['exact.labels', 'bg']
    assert scores['exact.labels']['mIoU'] == pytest.approx(100.0)
    assert scores['exact.labels']['contour_F'] == pytest.approx(100.0)
    assert scores['exact.labels']['interior_mIoU'] == pytest.approx(100.0)
    # all background: no foreground outline at all, so every class's F is 0
    assert scores['bg']['contour_F'] == pytest.approx(0.0)
    assert scores['bg']['mIoU'] < 50
    with pytest.raises(MissingInputError, match="'later'"):
        STAGES.get('LabelQuality')(ctx, 'quality', labels=['later'])
    with pytest.raises(ValueError, match='non-empty list'):
        STAGES.get('LabelQuality')(ctx, 'quality', labels='exact')


def test_list_inputs_are_checked_and_digested():
    stage = dict(name='q', type='LabelQuality', labels=['a.labels', 'b'])
    assert input_refs(stage) == [('labels', 'a.labels'), ('labels', 'b')]
    first = dict(name='a', type='Thresholds', cams='x')
    with pytest.raises(ValueError, match="labels='b'"):
        _check_stages([dict(name='x', type='Thresholds'), first, stage])
