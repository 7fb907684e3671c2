"""Stage functions that chain mmwsss components through mmengine's Runner."""

from .cam_stage import all_background_miou, run_cam_stage

__all__ = ['all_background_miou', 'run_cam_stage']
