"""Let mmengine's ``pytorch`` launcher run on machines without CUDA.

mmengine 0.10.7 assumes a GPU per process when ``launcher='pytorch'``:
``mmengine.dist.init_dist`` calls ``torch.cuda.set_device(LOCAL_RANK)`` before
creating the process group, and ``Runner.wrap_model`` passes
``device_ids=[LOCAL_RANK]`` to ``DistributedDataParallel``. Both fail on a
CPU-only torch. :func:`setup_cpu_distributed` creates the process group itself
(the ``Runner`` skips ``init_dist`` when one exists) with the gloo backend and
asks for a device-less DDP wrapper, so ``tools/dist_train.sh CONFIG 2`` runs on
CPU machines too. With CUDA available it does nothing.
"""

from __future__ import annotations

import datetime
import os

import torch
import torch.distributed as torch_dist
from mmengine.config import Config
from mmengine.registry import MODEL_WRAPPERS
from torch.nn.parallel import DistributedDataParallel

__all__ = ['setup_cpu_distributed']


def setup_cpu_distributed(cfg: Config) -> bool:
    """Initialise a gloo process group for a CPU run started by torchrun.

    Args:
        cfg (Config): The run's config with ``launcher`` already set; its
            ``model_wrapper_cfg`` is set (or completed) with ``device_ids=None``.

    Returns:
        bool: True if this function initialised the process group, False if
        there was nothing to do (no ``pytorch`` launcher, CUDA available, or a
        process group already exists).

    Raises:
        RuntimeError: If torchrun's environment (``RANK``, ``WORLD_SIZE``,
            ``MASTER_ADDR``, ``MASTER_PORT``) is incomplete.
    """
    if cfg.get('launcher') != 'pytorch' or torch.cuda.is_available():
        return False
    if torch_dist.is_initialized():
        return False
    missing = [
        key
        for key in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT')
        if key not in os.environ
    ]
    if missing:
        raise RuntimeError(
            f'--launcher pytorch needs the environment set by torchrun; {missing} '
            'missing. Start the run with tools/dist_train.sh or tools/dist_test.sh.'
        )
    dist_cfg = cfg.get('env_cfg', {}).get('dist_cfg', {})
    timeout = dist_cfg.get('timeout')
    kwargs = (
        {} if timeout is None else dict(timeout=datetime.timedelta(seconds=timeout))
    )
    # nccl, the usual config value, needs CUDA; gloo is torch's CPU backend.
    torch_dist.init_process_group(backend='gloo', **kwargs)

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
    return True
