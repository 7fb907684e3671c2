from .exporters import CAMExporter, atomic_save_npz, sample_stem
from .hooks import *  # noqa: F401,F403
from .loops import ExportTestLoop

__all__ = ['CAMExporter', 'ExportTestLoop', 'atomic_save_npz', 'sample_stem']
