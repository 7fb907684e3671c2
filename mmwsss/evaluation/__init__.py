from .multilabel_map import MultiLabelMAPMetric, average_precision
from .seed_metric import SeedIoUMetric, confusion_to_iou, save_sweep, sweep_confusion

__all__ = [
    'MultiLabelMAPMetric',
    'SeedIoUMetric',
    'average_precision',
    'confusion_to_iou',
    'save_sweep',
    'sweep_confusion',
]
