from . import fashionpaste
from .coco import COCO_CLASSES, COCO_PALETTE, WSSSCOCODataset
from .coco_gt import voc_instances_to_coco, write_coco_gt
from .pseudo_label import PseudoLabelDataset
from .required_ann_file import RequiredAnnFile
from .transforms import (
    LoadAnnotationsChecked,
    LoadImageFromFileChecked,
    LoadImageLevelLabels,
    LoadOptionalAnnotations,
    PackWSSSInputs,
)
from .voc import (
    VOC_CLASSES,
    VOC_PALETTE,
    FashionPasteDataset,
    WSSSVOCDataset,
    dataset_classes,
    split_ids,
)

__all__ = [
    'COCO_CLASSES',
    'COCO_PALETTE',
    'VOC_CLASSES',
    'VOC_PALETTE',
    'FashionPasteDataset',
    'LoadAnnotationsChecked',
    'LoadImageFromFileChecked',
    'LoadImageLevelLabels',
    'LoadOptionalAnnotations',
    'PackWSSSInputs',
    'PseudoLabelDataset',
    'RequiredAnnFile',
    'WSSSCOCODataset',
    'WSSSVOCDataset',
    'dataset_classes',
    'split_ids',
    'voc_instances_to_coco',
    'write_coco_gt',
    'fashionpaste',
]
