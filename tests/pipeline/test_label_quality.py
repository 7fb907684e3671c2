"""The LabelQuality stage: several label folders scored side by side."""

import pytest

from mmwsss.pipeline.stage_runner import (
    MissingInputError,
    PipelineContext,
    _check_stages,
    input_refs,
)
from mmwsss.registry import STAGES


def test_scores_each_folder_with_outline_metrics(label_folders):
    root, data, results = label_folders
    ctx = PipelineContext(data, str(root / 'work'))
    ctx.results = dict(results)
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
