from .exporters import (
    CAMExporter,
    CompositeExporter,
    LabelPNGExporter,
    atomic_save_label_png,
    atomic_save_npz,
    sample_stem,
)
from .hooks import *  # noqa: F401,F403
from .loops import ExportTestLoop

__all__ = [
    'CAMExporter',
    'CompositeExporter',
    'ExportTestLoop',
    'LabelPNGExporter',
    'atomic_save_label_png',
    'atomic_save_npz',
    'sample_stem',
]
