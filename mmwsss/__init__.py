"""mmwsss: weakly supervised segmentation for the OpenMMLab toolboxes.

Importing the package registers every component into mmwsss's registries
(:mod:`mmwsss.registry`: children of mmseg's, so ``default_scope = 'mmwsss'``
finds mmwsss's components and mmseg's alike; a config of another scope builds
them with ``_scope_='mmwsss'``) and imports mmseg's components (the parents' entries
a lookup under mmwsss's scope falls back to). A config needs only
``custom_imports = dict(imports=['mmwsss'], allow_failed_imports=False)``.
Importing it changes nothing else in the process: mmengine's checkpoint loaders
stay as they are. mmwsss's own runs load the Runner's checkpoints under torch
>= 2.6 through :func:`~mmwsss.utils.safe_checkpoint_loader` (see
:mod:`mmwsss.utils.checkpoint`).
"""

from . import datasets, engine, evaluation, models, ops, pipeline, registry
from .utils import register_safe_checkpoint_loader, safe_checkpoint_loader
from .version import __version__

# lookups under mmwsss's scope fall back to mmseg's registries, which hold
# mmseg's components only once their modules (the registries' locations:
# models, datasets, hooks, visualizers, ...) are imported
for _name in registry.__all__:
    _parent = getattr(registry, _name).parent
    if _parent is not None:
        _parent.import_from_location()

__all__ = [
    '__version__',
    'datasets',
    'engine',
    'evaluation',
    'models',
    'ops',
    'pipeline',
    'registry',
    'register_safe_checkpoint_loader',
    'safe_checkpoint_loader',
]
