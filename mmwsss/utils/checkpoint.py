"""Load the runner's own checkpoints with torch's safe (``weights_only``) unpickler.

Why this module exists:
    Since torch 2.6, ``torch.load`` defaults to ``weights_only=True``: the pickle is
    read by a restricted unpickler that only rebuilds tensors, containers and
    primitive values, plus the globals a caller explicitly allow-lists. mmengine
    0.10.7's local-file loader (``mmengine.runner.checkpoint.load_from_local``)
    calls ``torch.load(filename, map_location=...)`` without allow-listing
    anything, but the checkpoints that mmengine's own ``Runner`` writes hold more
    than tensors:

    * ``message_hub``: ``mmengine.logging.HistoryBuffer`` objects (numpy arrays of
      logged values). Their pickled state references the statistics methods
      ``HistoryBuffer.min`` / ``max`` / ``mean`` / ``current``, which pickle
      protocol 2 writes as ``builtins.getattr(HistoryBuffer, 'min')``.
    * ``meta`` and ``message_hub.runtime_info``: numpy scalars and arrays (metric
      values such as ``best_score`` from mmseg's ``IoUMetric``), hence
      ``numpy._core.multiarray._reconstruct`` / ``scalar`` (``numpy.core...``
      when written by numpy 1.x), ``numpy.ndarray``, ``numpy.dtype`` and the
      dtype classes (``numpy.dtypes.Float64DType``, ...), which the unpickler
      must be allowed to ``BUILD``.

    Loading them fails, e.g. with ``Unsupported global: GLOBAL
    numpy._core.multiarray._reconstruct``, so both ``resume=True`` and ``load_from``
    break.

What this module does instead of turning the safety off:
    :func:`safe_checkpoint_loader` is a context manager (also usable as a
    decorator) that, for its duration, re-registers mmengine's local-file scheme
    (prefix ``''``, the fallback for any path that no other scheme claims) with
    :func:`load_from_local_safe`, and puts the previous loader back when it
    ends. That loader still calls ``torch.load`` with ``weights_only=True``,
    inside a ``torch.serialization.safe_globals`` context that lists exactly the
    globals above (see :func:`safe_checkpoint_globals`). ``builtins.getattr``
    itself is *not* allowed (it would let a pickle reach any attribute of any
    allowed object); its name is mapped to a narrow function that only returns
    ``HistoryBuffer``'s four built-in statistics methods. A checkpoint holding
    any other class or callable still fails to load.

    Importing mmwsss changes nothing in mmengine: mmwsss's own runs enter the
    context (``tools/train.py``, ``tools/test.py``, the pipeline stages of
    :mod:`mmwsss.pipeline`, the report's predictors), a config run by another
    entry point (e.g. mmseg's ``tools/train.py``) adds the
    ``SafeCheckpointLoaderHook`` (:mod:`mmwsss.engine.hooks`), and
    :func:`register_safe_checkpoint_loader` makes the change for the whole
    process where a program wants exactly that.

    The other schemes are left as mmengine registers them: ``http(s)://`` and
    ``torchvision://`` go through ``torch.hub.load_state_dict_from_url``, whose
    own default is ``weights_only=False``, so downloads load as before;
    ``open-mmlab://``, ``s3://`` and ``pavi://`` keep their own loaders.

    To load a trusted third-party checkpoint that holds further types, allow-list
    them with ``torch.serialization.add_safe_globals`` before loading; those are
    honoured as well.
"""

from __future__ import annotations

import contextlib
import os.path as osp
import pickle
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader

__all__ = [
    'load_from_local_safe',
    'register_safe_checkpoint_loader',
    'safe_checkpoint_globals',
    'safe_checkpoint_loader',
]

# Module paths of numpy's ``multiarray`` in numpy 2.x and 1.x. Pickles name the
# module of the numpy that wrote them, so both spellings are allow-listed.
_MULTIARRAY_MODULES = ('numpy._core.multiarray', 'numpy.core.multiarray')
# The pickle helpers numpy uses for arrays (protocol 2) and scalars.
_MULTIARRAY_FUNCTIONS = ('_reconstruct', 'scalar')
# dtype character codes of plain (non-object, non-structured) arrays and scalars:
# bool, signed / unsigned integers, floats, complex, bytes, str, datetime64 and
# timedelta64. Object ('O') and void ('V') dtypes are excluded on purpose.
_DTYPE_CODES = '?bhilqpBHILQPefdgFDGSUMm'
# Methods that ``HistoryBuffer`` registers by default and pickles by reference.
_HISTORY_BUFFER_STATISTICS = ('min', 'max', 'mean', 'current')


def _numpy_multiarray() -> Any:
    """Return numpy's ``multiarray`` module for the installed numpy.

    Returns:
        module: ``numpy._core.multiarray`` (numpy >= 2) or
        ``numpy.core.multiarray`` (numpy 1.x).
    """
    try:
        from numpy._core import multiarray
    except ImportError:  # numpy 1.x
        from numpy.core import multiarray
    return multiarray


def _history_buffer_statistic(owner: Any, name: str) -> Callable:
    """Stand-in for ``builtins.getattr`` while unpickling a checkpoint.

    ``HistoryBuffer`` pickles its statistics methods as
    ``getattr(HistoryBuffer, '<name>')``. Only exactly those lookups are
    resolved; anything else is refused, so allow-listing this function does not
    grant general attribute access.

    Args:
        owner (Any): The object the pickle asks an attribute of.
        name (str): The attribute name.

    Returns:
        Callable: The unbound ``HistoryBuffer`` statistics method.

    Raises:
        pickle.UnpicklingError: If the lookup is anything but one of
            ``HistoryBuffer``'s default statistics methods.
    """
    if owner is HistoryBuffer and name in _HISTORY_BUFFER_STATISTICS:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'Refused getattr({owner!r}, {name!r}) while loading a checkpoint: only '
        f'HistoryBuffer.{{{", ".join(_HISTORY_BUFFER_STATISTICS)}}} are allowed. '
        'If the file is trusted, allow-list what it needs with '
        'torch.serialization.add_safe_globals.'
    )


def safe_checkpoint_globals() -> list[Callable | tuple[Callable, str]]:
    """List the globals that the runner's checkpoints need beyond torch's defaults.

    Entries are either a class / function (allow-listed under its own
    ``module.qualname``) or a ``(callable, 'full.name')`` pair, the form
    ``torch.serialization.safe_globals`` uses to allow a name whose module path
    differs from the object's (numpy 1.x vs 2.x, the ``getattr`` stand-in).

    Returns:
        list[Callable | tuple[Callable, str]]: Argument for
        ``torch.serialization.safe_globals``.
    """
    multiarray = _numpy_multiarray()
    entries: list[Callable | tuple[Callable, str]] = [
        np.ndarray,
        np.dtype,
        HistoryBuffer,
        (_history_buffer_statistic, 'builtins.getattr'),
    ]
    for func_name in _MULTIARRAY_FUNCTIONS:
        func = getattr(multiarray, func_name)
        entries.extend(
            (func, f'{module}.{func_name}') for module in _MULTIARRAY_MODULES
        )
    # The unpickler only BUILDs (sets the state of) objects whose exact type is
    # allowed; a numpy dtype instance has type numpy.dtypes.<Name>DType.
    dtype_classes = {type(np.dtype(code)) for code in _DTYPE_CODES}
    entries.extend(sorted(dtype_classes, key=lambda cls: cls.__name__))
    return entries


def _global_name(entry: Callable | tuple[Callable, str]) -> str:
    """Return the full name under which torch allow-lists ``entry``.

    Args:
        entry (Callable | tuple[Callable, str]): An allow-list entry.

    Returns:
        str: ``'module.qualname'`` or the explicit name of a pair.
    """
    if isinstance(entry, tuple):
        return entry[1]
    return f'{entry.__module__}.{entry.__qualname__}'


def load_from_local_safe(filename: str, map_location: Any = None) -> Any:
    """Load a local checkpoint with ``weights_only=True`` and our allow-list.

    Drop-in replacement for ``mmengine.runner.checkpoint.load_from_local``.
    Globals the user already allow-listed (``torch.serialization.
    add_safe_globals``) keep precedence and stay allowed after the call.

    Args:
        filename (str): Local checkpoint path; ``~`` is expanded.
        map_location (Any): Same as :func:`torch.load`. Default: None.

    Returns:
        Any: The loaded checkpoint, usually a dict.

    Raises:
        FileNotFoundError: If ``filename`` is not a file.
        pickle.UnpicklingError: If the checkpoint holds a global that is neither
            in :func:`safe_checkpoint_globals` nor allow-listed by the user.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    user_names = {_global_name(g) for g in torch.serialization.get_safe_globals()}
    extra = [g for g in safe_checkpoint_globals() if _global_name(g) not in user_names]
    with torch.serialization.safe_globals(extra):
        return torch.load(filename, map_location=map_location, weights_only=True)


def _local_loader() -> Callable:
    """The loader mmengine uses now for local paths (its scheme ``''``)."""
    return CheckpointLoader._get_checkpoint_loader('')


def _set_local_loader(loader: Callable) -> None:
    CheckpointLoader.register_scheme(prefixes='', loader=loader, force=True)


@contextlib.contextmanager
def safe_checkpoint_loader() -> Iterator[None]:
    """Within the block, mmengine loads local checkpoints through
    :func:`load_from_local_safe`; afterwards its previous loader is back.

    Covers what ``Runner.resume``, ``load_from``, ``load_checkpoint`` and
    ``Pretrained`` initialisation load from plain paths; other schemes are
    untouched. Blocks nest; also usable as a decorator. With a torch that has
    no ``safe_globals`` (< 2.5; such versions load with ``weights_only=False``
    by default) mmengine's loader is kept.

    Example:
        >>> with safe_checkpoint_loader():
        ...     runner = Runner.from_cfg(cfg)
        ...     runner.train()
    """
    if not hasattr(torch.serialization, 'safe_globals'):
        yield
        return
    previous = _local_loader()
    _set_local_loader(load_from_local_safe)
    try:
        yield
    finally:
        _set_local_loader(previous)


def register_safe_checkpoint_loader() -> None:
    """Make mmengine load local checkpoints through :func:`load_from_local_safe`
    for the rest of the process.

    The process-wide form of :func:`safe_checkpoint_loader`, for a program
    that wants it everywhere (importing mmwsss does not call it). Calling it
    again does nothing.
    """
    if not hasattr(torch.serialization, 'safe_globals'):
        return
    if _local_loader() is not load_from_local_safe:
        _set_local_loader(load_from_local_safe)
