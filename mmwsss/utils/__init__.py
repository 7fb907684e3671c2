from .checkpoint import (
    load_from_local_safe,
    register_safe_checkpoint_loader,
    safe_checkpoint_globals,
    safe_checkpoint_loader,
)
from .distributed import (
    broadcast_from_main,
    destroy_distributed,
    init_distributed,
    setup_cpu_distributed,
)
from .entrypoint import entrypoint_config, run_runner, use_tta

__all__ = [
    'broadcast_from_main',
    'destroy_distributed',
    'entrypoint_config',
    'init_distributed',
    'load_from_local_safe',
    'register_safe_checkpoint_loader',
    'safe_checkpoint_globals',
    'run_runner',
    'safe_checkpoint_loader',
    'setup_cpu_distributed',
    'use_tta',
]
