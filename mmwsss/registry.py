"""mmwsss's registries, in the OpenMMLab pattern.

Every registry of mmengine has an mmwsss node here, a child of mmseg's node
(itself a child of mmengine's root), with its import locations set, so:

- mmwsss's configs say ``default_scope = 'mmwsss'`` (``configs/_base_/
  default_runtime.py``) and name mmwsss's and mmseg's components alike without
  a prefix: a lookup under the ``mmwsss`` scope searches mmwsss's node, then
  mmseg's, then mmengine's root, as mmseg's own lookups fall back to mmengine's;
- a config of another scope builds a component of mmwsss under mmwsss's scope
  with ``_scope_``, e.g. ``dict(type='SafeCheckpointLoaderHook',
  _scope_='mmwsss')`` in an mmdet config (what the component builds inside is
  then looked up under mmwsss's scope too); from mmseg's scope the prefix
  ``'mmwsss.CAMClassifier'`` also works (mmwsss is a child of mmseg's nodes,
  and mmengine resolves a prefix among a node's direct children only);
- importing :mod:`mmwsss` registers nothing into mmseg's or mmengine's
  registries (their builds under their own scopes are unchanged).

Two registries have no counterpart upstream and are roots of their own:

- ``EXPORTERS``: what the export loops write per image (CAM files, label PNGs,
  score maps, instances), built by
  :class:`~mmwsss.engine.loops.ExportLoop` from its ``exporter`` argument;
- ``STAGES``: the stage kinds of pipeline configs (``dict(type='TrainTest',
  ...)`` in ``stages``). A stage kind is a subclass of
  :class:`mmwsss.pipeline.stages.BaseStage` (declared inputs, ``run``)
  registered with ``@STAGES.register_module()``, one per file in
  :mod:`mmwsss.pipeline.stages`; the stage runner
  (:func:`mmwsss.pipeline.runner.run_pipeline`) builds kinds from here, so a
  new kind needs no edit to the runner (a pipeline config that uses one defined
  elsewhere imports its module with ``custom_imports``).
"""

from mmengine.registry import Registry
from mmseg.registry import DATA_SAMPLERS as MMSEG_DATA_SAMPLERS
from mmseg.registry import DATASETS as MMSEG_DATASETS
from mmseg.registry import EVALUATOR as MMSEG_EVALUATOR
from mmseg.registry import HOOKS as MMSEG_HOOKS
from mmseg.registry import INFERENCERS as MMSEG_INFERENCERS
from mmseg.registry import LOG_PROCESSORS as MMSEG_LOG_PROCESSORS
from mmseg.registry import LOOPS as MMSEG_LOOPS
from mmseg.registry import METRICS as MMSEG_METRICS
from mmseg.registry import MODEL_WRAPPERS as MMSEG_MODEL_WRAPPERS
from mmseg.registry import MODELS as MMSEG_MODELS
from mmseg.registry import (
    OPTIM_WRAPPER_CONSTRUCTORS as MMSEG_OPTIM_WRAPPER_CONSTRUCTORS,
)
from mmseg.registry import OPTIM_WRAPPERS as MMSEG_OPTIM_WRAPPERS
from mmseg.registry import OPTIMIZERS as MMSEG_OPTIMIZERS
from mmseg.registry import PARAM_SCHEDULERS as MMSEG_PARAM_SCHEDULERS
from mmseg.registry import RUNNER_CONSTRUCTORS as MMSEG_RUNNER_CONSTRUCTORS
from mmseg.registry import RUNNERS as MMSEG_RUNNERS
from mmseg.registry import TASK_UTILS as MMSEG_TASK_UTILS
from mmseg.registry import TRANSFORMS as MMSEG_TRANSFORMS
from mmseg.registry import VISBACKENDS as MMSEG_VISBACKENDS
from mmseg.registry import VISUALIZERS as MMSEG_VISUALIZERS
from mmseg.registry import WEIGHT_INITIALIZERS as MMSEG_WEIGHT_INITIALIZERS

__all__ = [
    'DATASETS',
    'DATA_SAMPLERS',
    'EVALUATOR',
    'EXPORTERS',
    'HOOKS',
    'INFERENCERS',
    'LOG_PROCESSORS',
    'LOOPS',
    'METRICS',
    'MODELS',
    'MODEL_WRAPPERS',
    'OPTIMIZERS',
    'OPTIM_WRAPPERS',
    'OPTIM_WRAPPER_CONSTRUCTORS',
    'PARAM_SCHEDULERS',
    'RUNNERS',
    'RUNNER_CONSTRUCTORS',
    'STAGES',
    'TASK_UTILS',
    'TRANSFORMS',
    'VISBACKENDS',
    'VISUALIZERS',
    'WEIGHT_INITIALIZERS',
]

# runners and loops (the export loops)
RUNNERS = Registry('runner', parent=MMSEG_RUNNERS)
RUNNER_CONSTRUCTORS = Registry('runner constructor', parent=MMSEG_RUNNER_CONSTRUCTORS)
LOOPS = Registry('loop', parent=MMSEG_LOOPS, locations=['mmwsss.engine'])
HOOKS = Registry('hook', parent=MMSEG_HOOKS, locations=['mmwsss.engine'])

# data: image-label datasets, pseudo-label wrappers, their transforms
DATASETS = Registry('dataset', parent=MMSEG_DATASETS, locations=['mmwsss.datasets'])
DATA_SAMPLERS = Registry('data sampler', parent=MMSEG_DATA_SAMPLERS)
TRANSFORMS = Registry(
    'transform', parent=MMSEG_TRANSFORMS, locations=['mmwsss.datasets.transforms']
)

# models: classifiers, heads, segmentors, backbones, losses
MODELS = Registry('model', parent=MMSEG_MODELS, locations=['mmwsss.models'])
MODEL_WRAPPERS = Registry('model_wrapper', parent=MMSEG_MODEL_WRAPPERS)
WEIGHT_INITIALIZERS = Registry('weight initializer', parent=MMSEG_WEIGHT_INITIALIZERS)

# optimisation
OPTIMIZERS = Registry('optimizer', parent=MMSEG_OPTIMIZERS)
OPTIM_WRAPPERS = Registry('optim_wrapper', parent=MMSEG_OPTIM_WRAPPERS)
OPTIM_WRAPPER_CONSTRUCTORS = Registry(
    'optimizer wrapper constructor', parent=MMSEG_OPTIM_WRAPPER_CONSTRUCTORS
)
PARAM_SCHEDULERS = Registry('parameter scheduler', parent=MMSEG_PARAM_SCHEDULERS)

# evaluation: seed sweeps, multi-label mAP, instance AP
METRICS = Registry('metric', parent=MMSEG_METRICS, locations=['mmwsss.evaluation'])
EVALUATOR = Registry('evaluator', parent=MMSEG_EVALUATOR)

TASK_UTILS = Registry('task util', parent=MMSEG_TASK_UTILS)
VISUALIZERS = Registry('visualizer', parent=MMSEG_VISUALIZERS)
VISBACKENDS = Registry('vis_backend', parent=MMSEG_VISBACKENDS)
LOG_PROCESSORS = Registry('log_processor', parent=MMSEG_LOG_PROCESSORS)
INFERENCERS = Registry('inferencer', parent=MMSEG_INFERENCERS)

# mmwsss's own roots
EXPORTERS = Registry(
    'exporter',
    locations=['mmwsss.engine.exporters', 'mmwsss.engine.instance_exporter'],
)
STAGES = Registry(
    'pipeline stage',
    locations=['mmwsss.pipeline.stages'],
)
