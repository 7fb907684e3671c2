"""Process groups for runs started by torchrun or Slurm, CPU-only machines too.

mmengine 0.10.7 assumes a GPU per process when ``launcher='pytorch'``:
``mmengine.dist.init_dist`` calls ``torch.cuda.set_device(LOCAL_RANK)`` before
creating the process group, and ``Runner.wrap_model`` passes
``device_ids=[LOCAL_RANK]`` to ``DistributedDataParallel``. Both fail on a
CPU-only torch. :func:`setup_cpu_distributed` creates the process group itself
(the ``Runner`` skips ``init_dist`` when one exists) with the gloo backend and
asks for a device-less DDP wrapper, so ``tools/dist_train.sh CONFIG 2`` runs on
CPU machines too. With CUDA available it does nothing.

:func:`init_distributed` creates the one process group of a program that runs
several Runners in turn (``tools/run_pipeline.py --launcher pytorch|slurm``):
mmengine's ``init_dist`` with CUDA, gloo through :func:`setup_cpu_distributed`
without. :func:`broadcast_from_main` hands rank 0's value of a Python object to
every rank. :func:`destroy_distributed` ends an entry point's process group.
"""

from __future__ import annotations

import datetime
import gc
import os
from typing import Any

import torch
import torch.distributed as torch_dist
from mmengine.config import Config
from mmengine.dist import broadcast_object_list, get_world_size, init_dist
from mmengine.registry import MODEL_WRAPPERS
from torch.nn.parallel import DistributedDataParallel

__all__ = [
    'broadcast_from_main',
    'destroy_distributed',
    'init_distributed',
    'setup_cpu_distributed',
]

LAUNCHERS = ('none', 'pytorch', 'slurm')


def _cpu_model_wrapper(cfg: Config) -> None:
    """Set (or complete) ``cfg.model_wrapper_cfg`` with ``device_ids=None``."""
    wrapper_cfg = cfg.get('model_wrapper_cfg')
    if wrapper_cfg is None:
        # The wrapper Runner.wrap_model builds by default, minus the device ids.
        wrapper_cfg = dict(
            type='MMDistributedDataParallel',
            broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False),
        )
    wrapper_cls = MODEL_WRAPPERS.get(
        wrapper_cfg.get('type', 'MMDistributedDataParallel')
    )
    if isinstance(wrapper_cls, type) and issubclass(
        wrapper_cls, DistributedDataParallel
    ):
        # A CPU module takes no device_ids; the Runner would pass [LOCAL_RANK].
        wrapper_cfg['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper_cfg


def _init_gloo(timeout: float | None) -> None:
    """The gloo process group of a torchrun run (``env://``)."""
    missing = [
        key
        for key in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT')
        if key not in os.environ
    ]
    if missing:
        raise RuntimeError(
            f'--launcher pytorch needs the environment set by torchrun; {missing} '
            'missing. Start the run with torchrun, e.g. tools/dist_train.sh or '
            'tools/dist_test.sh.'
        )
    kwargs = (
        {} if timeout is None else dict(timeout=datetime.timedelta(seconds=timeout))
    )
    # nccl, the usual config value, needs CUDA; gloo is torch's CPU backend.
    torch_dist.init_process_group(backend='gloo', **kwargs)


def setup_cpu_distributed(cfg: Config) -> bool:
    """Prepare a CPU run started by torchrun: gloo process group, DDP wrapper.

    Args:
        cfg (Config): The run's config with ``launcher`` already set; its
            ``model_wrapper_cfg`` is set (or completed) with ``device_ids=None``,
            also when a process group exists already.

    Returns:
        bool: True if this function initialised the process group, False if
        there was no group to make (no ``pytorch`` launcher, CUDA available, or
        a process group already exists).

    Raises:
        RuntimeError: If torchrun's environment (``RANK``, ``WORLD_SIZE``,
            ``MASTER_ADDR``, ``MASTER_PORT``) is incomplete.
    """
    if cfg.get('launcher') != 'pytorch' or torch.cuda.is_available():
        return False
    _cpu_model_wrapper(cfg)
    if torch_dist.is_initialized():
        return False
    dist_cfg = cfg.get('env_cfg', {}).get('dist_cfg', {})
    _init_gloo(dist_cfg.get('timeout'))
    return True


def init_distributed(
    launcher: str, backend: str | None = None, timeout: float | None = None
) -> bool:
    """Create the process group of this run once, for every Runner it makes.

    Args:
        launcher (str): 'none' (one process: nothing to do), 'pytorch'
            (torchrun's environment) or 'slurm' (srun's).
        backend (str, optional): Backend with CUDA. Default: None, meaning
            'nccl'; without CUDA the backend is always gloo.
        timeout (float, optional): Seconds a collective waits for the other
            ranks. Default: None (torch's default, 30 minutes).

    Returns:
        bool: True if this call created the group, False if there was nothing
        to do (launcher 'none' or a group exists).

    Raises:
        ValueError: If ``launcher`` is unknown.
        RuntimeError: If the launcher's environment is incomplete, or for
            'slurm' without CUDA (mmengine's Slurm set-up gives each task a
            GPU; start CPU runs with torchrun instead).
    """
    if launcher not in LAUNCHERS:
        raise ValueError(f'launcher must be one of {LAUNCHERS}, got {launcher!r}')
    if launcher == 'none' or torch_dist.is_initialized():
        return False
    if torch.cuda.is_available():
        kwargs = {} if timeout is None else dict(timeout=timeout)
        init_dist(launcher, backend=backend or 'nccl', **kwargs)
    elif launcher == 'pytorch':
        _init_gloo(timeout)
    else:
        raise RuntimeError(
            '--launcher slurm needs CUDA (mmengine sets one GPU per Slurm task); '
            'on CPU nodes start the processes with torchrun (--launcher pytorch)'
        )
    return True


def broadcast_from_main(obj: Any) -> Any:
    """Rank 0's ``obj`` on every rank (``obj`` itself in a single process).

    Every rank must call it (a collective); the other ranks' ``obj`` is
    ignored.

    Args:
        obj (Any): A picklable object.

    Returns:
        Any: Rank 0's object.
    """
    if get_world_size() == 1:
        return obj
    box = [obj]
    broadcast_object_list(box, src=0)
    return box[0]


def destroy_distributed() -> None:
    """Destroy the default process group, if any, at the end of an entry point.

    A process that exits with its gloo group alive may abort in the
    interpreter's teardown ("terminate called without an active exception").
    The runners' DDP wrappers hold the group, so they are freed first.
    """
    if not torch_dist.is_initialized():
        return
    gc.collect()
    torch_dist.destroy_process_group()
