"""Stage functions that chain mmwsss components through mmengine's Runner."""

from .cam_stage import all_background_miou, run_cam_stage
from .refine_labels import make_label_dir
from .runner_stage import run_train_test_stage, set_data_root, set_transform_args
from .stage_runner import MANIFEST, run_pipeline

__all__ = [
    'MANIFEST',
    'all_background_miou',
    'make_label_dir',
    'run_cam_stage',
    'run_pipeline',
    'run_train_test_stage',
    'set_data_root',
    'set_transform_args',
]
