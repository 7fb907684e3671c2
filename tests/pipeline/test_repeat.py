"""Repeats of a pipeline's stages at other training seeds (the spread)."""

import pytest
from mmengine.config import Config

import mmwsss  # noqa: F401  (registers the stage kinds)
from mmwsss.pipeline import build_stages, pipeline_stages
from mmwsss.pipeline.repeat import base_name, expand_repeats, repeat_name

STAGES = [
    dict(name='data', type='FashionPaste', size='tiny'),
    dict(name='cam', type='TrainTest', config='cam.py', validate=True),
    dict(name='thresholds', type='Thresholds', cams='cam'),
    dict(
        name='crf_oracle',
        type='Labels',
        kind='crf',
        cams='cam',
        label_options=dict(bg_score='oracle:cam:seed/best_bg_score'),
    ),
    dict(
        name='irn',
        type='TrainTest',
        config='irn.py',
        cams='cam',
        train_labels='crf_oracle',
        cfg_options={'model.x': 1},
    ),
    dict(name='irn_labels', type='Labels', kind='cam', cams='irn.walk_scores'),
    dict(name='quality', type='LabelQuality', labels=['crf_oracle', 'irn_labels']),
]


def test_repeats_follow_the_group_and_seed_the_training():
    expanded = expand_repeats(
        STAGES, dict(seeds=(1, 2), stages=['cam', 'crf_oracle', 'irn', 'quality'])
    )
    names = [s['name'] for s in expanded]
    assert names[: len(STAGES)] == [s['name'] for s in STAGES]
    assert names[len(STAGES) :] == [
        'cam@1', 'crf_oracle@1', 'irn@1', 'quality@1',
        'cam@2', 'crf_oracle@2', 'irn@2', 'quality@2',
    ]  # fmt: skip
    by_name = {s['name']: s for s in expanded}
    # training stages get the seed; their other options are kept
    assert by_name['cam@2']['cfg_options'] == {'randomness.seed': 2}
    assert by_name['irn@1']['cfg_options'] == {'model.x': 1, 'randomness.seed': 1}
    # references inside the group name the same seed's copies, outside stay
    assert by_name['irn@1']['cams'] == 'cam@1'
    assert by_name['irn@1']['train_labels'] == 'crf_oracle@1'
    assert by_name['crf_oracle@2']['label_options'] == dict(
        bg_score='oracle:cam@2:seed/best_bg_score'
    )
    # irn_labels is not repeated: quality@1 reads the pipeline's own run of it
    assert by_name['quality@1']['labels'] == ['crf_oracle@1', 'irn_labels']
    # the originals are untouched, and the whole list builds (references check)
    assert STAGES[4]['cfg_options'] == {'model.x': 1}
    assert 'randomness.seed' not in str(STAGES)
    built = build_stages(expanded)
    assert [s.name for s in built] == names
    assert base_name('irn@12') == ('irn', 12) and base_name('irn') == ('irn', None)
    assert repeat_name('cam', 3) == 'cam@3'


def test_repeat_errors_and_pipeline_config(tmp_path):
    with pytest.raises(KeyError, match='lacks'):
        expand_repeats(STAGES, dict(seeds=(1,), stages=['nope']))
    with pytest.raises(ValueError, match='distinct'):
        expand_repeats(STAGES, dict(seeds=(1, 1), stages=['cam']))
    assert expand_repeats(STAGES, None) == STAGES
    cfg = Config(
        dict(
            stages=STAGES,
            stage_options=dict(cam=dict(validate=False)),
            repeat=dict(seeds=[1], stages=['cam']),
        )
    )
    stages = pipeline_stages(cfg)
    assert [s['name'] for s in stages][-1] == 'cam@1'
    # stage_options apply before the repeat: the copy has them too
    assert stages[1]['validate'] is False and stages[-1]['validate'] is False
