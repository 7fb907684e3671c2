"""The stage runner and the stage kinds that chain mmwsss components through
mmengine's Runner (:mod:`mmwsss.pipeline.runner`, :mod:`mmwsss.pipeline.stages`)."""

from .context import MANIFEST, MissingInputError, PipelineContext
from .floor import all_background_miou
from .refine_labels import make_label_dir
from .repeat import pipeline_stages
from .runner import build_stages, run_pipeline, run_stage
from .runner_stage import run_train_test_stage, set_data_root, set_transform_args

__all__ = [
    'MANIFEST',
    'MissingInputError',
    'PipelineContext',
    'all_background_miou',
    'build_stages',
    'make_label_dir',
    'pipeline_stages',
    'run_pipeline',
    'run_stage',
    'run_train_test_stage',
    'set_data_root',
    'set_transform_args',
]
