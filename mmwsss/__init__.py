"""mmwsss: weakly supervised segmentation for the OpenMMLab toolboxes.

Importing the package registers every component (models, datasets, transforms
and metrics into mmseg's registries; loops, hooks and exporters into mmengine's
root registries), so a config needs only
``custom_imports = dict(imports=['mmwsss'], allow_failed_imports=False)``.
It also installs the checkpoint loader that lets torch >= 2.6 load the Runner's
own checkpoints with ``weights_only=True`` (see :mod:`mmwsss.utils.checkpoint`).
"""

from . import datasets, engine, evaluation, models, ops, pipeline
from .utils import register_safe_checkpoint_loader
from .version import __version__

register_safe_checkpoint_loader()

__all__ = [
    '__version__',
    'datasets',
    'engine',
    'evaluation',
    'models',
    'ops',
    'pipeline',
    'register_safe_checkpoint_loader',
]
