from .exporters import (
    CAMExporter,
    LabelPNGExporter,
    atomic_save_label_png,
    atomic_save_npz,
    sample_stem,
)
from .hooks import *  # noqa: F401,F403
from .loops import ExportTestLoop

__all__ = [
    'CAMExporter',
    'ExportTestLoop',
    'LabelPNGExporter',
    'atomic_save_label_png',
    'atomic_save_npz',
    'sample_stem',
]
