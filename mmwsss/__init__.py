"""mmwsss: weakly supervised segmentation for the OpenMMLab toolboxes.

Importing the package registers every component (models, datasets, transforms
and metrics into mmseg's registries; loops, hooks and exporters into mmengine's
root registries), so a config needs only
``custom_imports = dict(imports=['mmwsss'], allow_failed_imports=False)``.
Importing it changes nothing else in the process: mmengine's checkpoint loaders
stay as they are. mmwsss's own runs load the Runner's checkpoints under torch
>= 2.6 through :func:`~mmwsss.utils.safe_checkpoint_loader` (see
:mod:`mmwsss.utils.checkpoint`).
"""

from . import datasets, engine, evaluation, models, ops, pipeline
from .utils import register_safe_checkpoint_loader, safe_checkpoint_loader
from .version import __version__

__all__ = [
    '__version__',
    'datasets',
    'engine',
    'evaluation',
    'models',
    'ops',
    'pipeline',
    'register_safe_checkpoint_loader',
    'safe_checkpoint_loader',
]
