from .checkpoint import (
    load_from_local_safe,
    register_safe_checkpoint_loader,
    safe_checkpoint_globals,
)
from .distributed import setup_cpu_distributed

__all__ = [
    'load_from_local_safe',
    'register_safe_checkpoint_loader',
    'safe_checkpoint_globals',
    'setup_cpu_distributed',
]
