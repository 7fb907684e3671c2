from .exporters import (
    CAMExporter,
    CompositeExporter,
    LabelPNGExporter,
    ScoreMapExporter,
    atomic_save_label_png,
    atomic_save_npz,
    sample_stem,
)
from .hooks import *  # noqa: F401,F403
from .instance_exporter import InstanceExporter, merge_instance_jsons
from .loops import ExportTestLoop

__all__ = [
    'CAMExporter',
    'CompositeExporter',
    'ExportTestLoop',
    'InstanceExporter',
    'LabelPNGExporter',
    'ScoreMapExporter',
    'atomic_save_label_png',
    'atomic_save_npz',
    'merge_instance_jsons',
    'sample_stem',
]
