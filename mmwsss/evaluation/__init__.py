from .contour import ContourCounts, ContourFMetric
from .instance_ap import (
    InstanceAPMetric,
    as_instance_list,
    build_voc_instance_gt,
    decode_mask,
    encode_instances,
    encode_mask,
    instance_ap,
    load_voc_instances,
    masks_to_coco_gt,
    voc_gt_paths,
)
from .label_dir import read_label_png, score_label_dir
from .multilabel_map import MultiLabelMAPMetric, average_precision, learned_share
from .seed_metric import (
    SeedIoUMetric,
    confusion_to_iou,
    histogram_to_confusion,
    save_sweep,
    sweep_confusion,
    sweep_histogram,
)

__all__ = [
    'ContourCounts',
    'ContourFMetric',
    'InstanceAPMetric',
    'MultiLabelMAPMetric',
    'learned_share',
    'SeedIoUMetric',
    'as_instance_list',
    'average_precision',
    'build_voc_instance_gt',
    'confusion_to_iou',
    'decode_mask',
    'encode_instances',
    'encode_mask',
    'histogram_to_confusion',
    'instance_ap',
    'load_voc_instances',
    'masks_to_coco_gt',
    'read_label_png',
    'save_sweep',
    'score_label_dir',
    'sweep_confusion',
    'sweep_histogram',
    'voc_gt_paths',
]
