"""setup_cpu_distributed: when it acts and what it asks of the environment."""

from __future__ import annotations

import pytest
import torch
from mmengine.config import Config

from mmwsss.utils.distributed import (
    broadcast_from_main,
    init_distributed,
    setup_cpu_distributed,
)

TORCHRUN_ENV = ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT')


def test_single_process_is_left_alone() -> None:
    cfg = Config(dict(launcher='none'))
    assert setup_cpu_distributed(cfg) is False
    assert 'model_wrapper_cfg' not in cfg


@pytest.mark.skipif(torch.cuda.is_available(), reason='acts on CPU-only machines')
def test_missing_torchrun_env_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in TORCHRUN_ENV:
        monkeypatch.delenv(key, raising=False)
    cfg = Config(dict(launcher='pytorch'))
    with pytest.raises(RuntimeError, match="'RANK'.*dist_train.sh"):
        setup_cpu_distributed(cfg)


@pytest.mark.skipif(torch.cuda.is_available(), reason='acts on CPU-only machines')
def test_single_rank_group_and_wrapper(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    env = dict(RANK='0', WORLD_SIZE='1', MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    cfg = Config(
        dict(
            launcher='pytorch',
            env_cfg=dict(dist_cfg=dict(backend='nccl', timeout=60)),
            model_wrapper_cfg=dict(
                type='MMDistributedDataParallel', find_unused_parameters=True
            ),
        )
    )
    try:
        assert setup_cpu_distributed(cfg) is True
        assert torch.distributed.get_backend() == 'gloo'
        assert cfg.model_wrapper_cfg.device_ids is None
        assert cfg.model_wrapper_cfg.find_unused_parameters is True
        # A second call finds the group and does nothing.
        assert setup_cpu_distributed(cfg) is False
    finally:
        if torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()


def test_init_distributed_arguments() -> None:
    assert init_distributed('none') is False
    with pytest.raises(ValueError, match='launcher'):
        init_distributed('mpi')


@pytest.mark.skipif(torch.cuda.is_available(), reason='acts on CPU-only machines')
def test_slurm_without_cuda_names_torchrun() -> None:
    with pytest.raises(RuntimeError, match='torchrun'):
        init_distributed('slurm')


@pytest.mark.skipif(torch.cuda.is_available(), reason='acts on CPU-only machines')
def test_pipeline_group_is_made_once(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    env = dict(RANK='0', WORLD_SIZE='1', MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    try:
        assert init_distributed('pytorch', timeout=60) is True
        assert torch.distributed.get_backend() == 'gloo'
        assert init_distributed('pytorch') is False
        assert broadcast_from_main({'a': 1}) == {'a': 1}
        # each stage's runner config still gets the device-less wrapper
        cfg = Config(dict(launcher='pytorch'))
        assert setup_cpu_distributed(cfg) is False
        assert cfg.model_wrapper_cfg.device_ids is None
    finally:
        if torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()
