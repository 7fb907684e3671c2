"""The LabelQuality stage: several label folders scored side by side."""

import pytest

from mmwsss.pipeline import MissingInputError, PipelineContext, build_stages, run_stage


def test_scores_each_folder_with_outline_metrics(label_folders):
    root, data, results = label_folders
    ctx = PipelineContext(data, str(root / 'work'))
    ctx.results = dict(results)
    quality = dict(name='quality', type='LabelQuality')
    result = run_stage(ctx, dict(quality, labels=['exact.labels', 'bg']))
    scores = result['scores']
    assert list(scores) == ['exact.labels', 'bg']
    assert scores['exact.labels']['mIoU'] == pytest.approx(100.0)
    assert scores['exact.labels']['contour_F'] == pytest.approx(100.0)
    assert scores['exact.labels']['interior_mIoU'] == pytest.approx(100.0)
    # all background: no foreground outline at all, so every class's F is 0
    assert scores['bg']['contour_F'] == pytest.approx(0.0)
    assert scores['bg']['mIoU'] < 50
    with pytest.raises(MissingInputError, match="'later'"):
        run_stage(ctx, dict(quality, labels=['later']))
    with pytest.raises(ValueError, match='non-empty list'):
        run_stage(ctx, dict(quality, labels='exact'))


def test_list_inputs_are_checked_and_digested():
    stage = dict(name='q', type='LabelQuality', labels=['a.labels', 'b'])
    first = dict(name='a', type='Thresholds', cams='x')
    gt = dict(name='x', type='CocoGT')
    built = build_stages([gt, first, stage | dict(labels=['a.labels', 'x'])])
    assert built[2].input_refs() == [('labels', 'a.labels'), ('labels', 'x')]
    with pytest.raises(ValueError, match="labels='b'"):
        build_stages([gt, first, stage])
