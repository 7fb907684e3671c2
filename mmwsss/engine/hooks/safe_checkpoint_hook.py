"""Load a run's checkpoints with mmwsss's safe loader, from the config alone."""

from __future__ import annotations

import contextlib

from mmengine.hooks import Hook

from ...registry import HOOKS
from ...utils.checkpoint import safe_checkpoint_loader


@HOOKS.register_module()
class SafeCheckpointLoaderHook(Hook):
    """Install :func:`mmwsss.utils.safe_checkpoint_loader` while the runner runs.

    mmwsss's own entry points (``tools/train.py``, ``tools/test.py``, the
    pipeline stages) enter that context themselves; this hook is for a config
    run by another entry point, e.g. mmseg's ``tools/train.py``, so that its
    ``load_from`` / ``resume`` / ``Pretrained`` checkpoints written by a
    ``Runner`` load under torch >= 2.6 (in a config of another scope, e.g.
    mmseg's or mmdet's, built under mmwsss's scope)::

        custom_imports = dict(imports=['mmwsss'], allow_failed_imports=False)
        custom_hooks = [dict(type='SafeCheckpointLoaderHook', _scope_='mmwsss')]

    mmengine's ``Runner.train`` / ``val`` / ``test`` call ``before_run`` before
    they initialise and load weights and ``after_run`` when they end: the safe
    loader is installed in between and mmengine's previous loader put back
    afterwards. A run that raises gets no ``after_run`` and leaves the safe
    loader installed (it refuses nothing that mmengine's loader would accept
    under torch's ``weights_only`` default).
    """

    priority = 'HIGHEST'  # before any other hook's before_run may load weights

    def __init__(self) -> None:
        self._stack = contextlib.ExitStack()

    def before_run(self, runner) -> None:
        self._stack.close()  # a previous run that raised
        self._stack.enter_context(safe_checkpoint_loader())

    def after_run(self, runner) -> None:
        self._stack.close()
