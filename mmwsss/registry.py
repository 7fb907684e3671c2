"""mmwsss's own registries, in the OpenMMLab pattern.

Models, datasets, transforms and metrics go into mmseg's registries (configs
name them under ``default_scope='mmseg'``); loops, hooks and exporters into
mmengine's root ones. What has no home in either lives here:

- ``STAGES``: the stage kinds of pipeline configs (``dict(type='TrainTest',
  ...)`` in ``stages``). A stage kind is a callable
  ``f(ctx, name, **arguments) -> dict`` registered with
  ``@STAGES.register_module('Name')``; the stage runner
  (:func:`mmwsss.pipeline.stage_runner.run_pipeline`) looks kinds up here, so
  a new kind needs no edit to the runner (a pipeline config that uses one
  defined elsewhere imports its module with ``custom_imports``). The
  instance branch's kinds (``CocoGT``) are in
  :mod:`mmwsss.pipeline.mmdet_stage`, the ``LabelQuality`` analysis in
  :mod:`mmwsss.pipeline.label_quality`.
"""

from mmengine.registry import Registry

STAGES = Registry(
    'pipeline stage',
    locations=[
        'mmwsss.pipeline.stage_runner',
        'mmwsss.pipeline.mmdet_stage',
        'mmwsss.pipeline.label_quality',
    ],
)
