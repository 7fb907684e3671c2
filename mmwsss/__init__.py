"""mmwsss: weakly supervised segmentation for the OpenMMLab toolboxes.

Importing the package registers every component (models and metrics into
mmseg's registries, loops, hooks and exporters into mmengine's root registries),
so a config needs only ``custom_imports = dict(imports=['mmwsss'])``.
mmdet-only components live in :mod:`mmwsss.det` and are imported on demand.
"""

from .version import __version__
from .utils import register_safe_checkpoint_loader

register_safe_checkpoint_loader()

from . import datasets, engine, evaluation, models, ops  # noqa: E402,F401

__all__ = ["__version__", "register_safe_checkpoint_loader"]
