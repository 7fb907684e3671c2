from .multilabel_map import MultiLabelMAPMetric, average_precision
from .seed_metric import (
    SeedIoUMetric,
    confusion_to_iou,
    histogram_to_confusion,
    save_sweep,
    sweep_confusion,
    sweep_histogram,
)

__all__ = [
    'MultiLabelMAPMetric',
    'SeedIoUMetric',
    'average_precision',
    'confusion_to_iou',
    'histogram_to_confusion',
    'save_sweep',
    'sweep_confusion',
    'sweep_histogram',
]
