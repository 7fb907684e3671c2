from .attention_store import AttentionStore
from .exporters import (
    CAMExporter,
    CompositeExporter,
    LabelPNGExporter,
    ScoreMapExporter,
    atomic_save_label_png,
    sample_stem,
)
from .hooks import *  # noqa: F401,F403
from .instance_exporter import InstanceExporter, merge_instance_jsons
from .loops import ExportTestLoop
from .prototype_loop import PrototypeLoop, load_prototypes

__all__ = [
    'AttentionStore',
    'CAMExporter',
    'CompositeExporter',
    'ExportTestLoop',
    'InstanceExporter',
    'LabelPNGExporter',
    'PrototypeLoop',
    'ScoreMapExporter',
    'atomic_save_label_png',
    'load_prototypes',
    'merge_instance_jsons',
    'sample_stem',
]
