"""mmwsss's registries: children of mmseg's, found under mmwsss's scope, and
no entry of mmwsss's in mmseg's or mmengine's own registries."""

import mmengine.registry as mmengine_registry
import mmseg.registry as mmseg_registry
import pytest
from mmengine.registry import DefaultScope, Registry

import mmwsss.registry as mmwsss_registry
from mmwsss.engine.hooks import ValCurveHook
from mmwsss.engine.loops import ExportTestLoop
from mmwsss.models.classifiers.cam_classifier import CAMClassifier

UPSTREAM = [
    name
    for name, value in vars(mmseg_registry).items()
    if isinstance(value, Registry) and name.isupper()
]
# what mmwsss registers, one name per registry that holds its components
OWN = {
    'MODELS': 'CAMClassifier',
    'DATASETS': 'PseudoLabelDataset',
    'TRANSFORMS': 'LoadImageLevelLabels',
    'METRICS': 'SeedIoUMetric',
    'LOOPS': 'ExportTestLoop',
    'HOOKS': 'ValCurveHook',
}


def test_every_upstream_registry_has_an_mmwsss_child():
    assert len(UPSTREAM) >= 20
    for name in UPSTREAM:
        ours = getattr(mmwsss_registry, name)
        assert ours.scope == 'mmwsss', name
        assert ours.parent is getattr(mmseg_registry, name), name
        # found from mmengine's root by scope, as the Runner's builds search
        root = getattr(mmengine_registry, name)
        assert root._search_child('mmwsss') is ours, name


@pytest.mark.parametrize('name', sorted(OWN))
def test_components_live_in_mmwsss_registries_only(name):
    key = OWN[name]
    assert key in getattr(mmwsss_registry, name).module_dict
    assert key not in getattr(mmseg_registry, name).module_dict
    assert key not in getattr(mmengine_registry, name).module_dict


def test_exporters_and_stages_are_mmwsss_roots():
    assert {'CAMExporter', 'LabelPNGExporter', 'InstanceExporter'} <= set(
        mmwsss_registry.EXPORTERS.module_dict
    )
    assert 'InstanceExporter' not in mmengine_registry.TASK_UTILS.module_dict
    # the stage kinds' modules are imported on the first look-up (locations)
    for kind in ('TrainTest', 'Labels', 'LabelQuality', 'Consensus', 'CocoGT'):
        assert mmwsss_registry.STAGES.get(kind) is not None, kind
    assert mmwsss_registry.EXPORTERS.parent is None
    assert mmwsss_registry.STAGES.parent is None


def test_mmwsss_scope_sees_mmseg_and_mmengine_components():
    """What the Runner does: build from mmengine's root registry under the
    config's default scope."""
    with DefaultScope.overwrite_default_scope('mmwsss'):
        with mmengine_registry.LOOPS.switch_scope_and_registry('mmwsss') as loops:
            assert loops is mmwsss_registry.LOOPS
            assert loops.get('ExportTestLoop') is ExportTestLoop
            assert loops.get('IterBasedTrainLoop') is not None  # mmengine's
        with mmengine_registry.MODELS.switch_scope_and_registry('mmwsss') as models:
            assert models.get('CAMClassifier') is CAMClassifier
            assert models.get('EncoderDecoder') is mmseg_registry.MODELS.get(
                'EncoderDecoder'
            )
        visualizers = mmengine_registry.VISUALIZERS
        with visualizers.switch_scope_and_registry('mmwsss') as registry:
            assert registry.get('SegLocalVisualizer') is not None  # mmseg's


def test_other_scopes_reach_mmwsss_components():
    # mmseg's scope: with the prefix (mmwsss is a child of mmseg's nodes)
    with DefaultScope.overwrite_default_scope('mmseg'):
        assert mmseg_registry.MODELS.get('CAMClassifier') is None
        assert mmseg_registry.MODELS.get('mmwsss.CAMClassifier') is CAMClassifier
    # any scope (mmdet's, mmengine's): built under mmwsss's with `_scope_`
    for scope in ('mmengine', 'mmdet'):
        with DefaultScope.overwrite_default_scope(scope):
            hook = mmengine_registry.HOOKS.build(
                dict(type='ValCurveHook', _scope_='mmwsss')
            )
            assert type(hook) is ValCurveHook
            assert DefaultScope.get_current_instance().scope_name == scope
