# Mask R-CNN R-50-FPN (mmdet's 1x COCO config) on PASCAL VOC 2012 instance pseudo
# labels: trained on a pipeline's merged COCO json of train_aug pseudo instances
# (WISE's or IRN's), scored by mmdet's CocoMetric (bbox / segm AP, AP50) on the val
# ground-truth instances (SegmentationObject + SegmentationClass written as COCO
# json by the CocoGT stage or tools/dataset_converters/gt_instances_to_coco.py).
# 12 epochs of batch 8, SGD lr 0.01 (mmdet's 0.02 for batch 16, scaled); ImageNet
# ResNet-50 (mmdet's init_cfg: downloaded by mmdet on first use).
#   python tools/train.py configs/mask_rcnn/mask-rcnn_r50_fpn_1xb8-12e_voc12aug.py \
#       --cfg-options train_dataloader.dataset.ann_file=PSEUDO_COCO_JSON
# COCO category ids are the VOC segmentation class indices (1..20).
_base_ = [
    'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py',
    '../_base_/instance_metrics.py',
]

custom_imports = dict(imports=['mmwsss'], allow_failed_imports=False)

data_root = 'data/VOCdevkit/VOC2012/'
# mmwsss.datasets.voc.VOC_CLASSES without background
classes = (
    'aeroplane',
    'bicycle',
    'bird',
    'boat',
    'bottle',
    'bus',
    'car',
    'cat',
    'chair',
    'cow',
    'diningtable',
    'dog',
    'horse',
    'motorbike',
    'person',
    'pottedplant',
    'sheep',
    'sofa',
    'train',
    'tvmonitor',
)
model = dict(
    roi_head=dict(
        bbox_head=dict(num_classes=len(classes)),
        mask_head=dict(num_classes=len(classes)),
    )
)
train_dataloader = dict(
    batch_size=8,
    dataset=dict(
        data_root=data_root,
        metainfo=dict(classes=classes),
        ann_file='annotations/pseudo_instances_train_aug.json',
        data_prefix=dict(img='JPEGImages/'),
    ),
)
val_dataloader = dict(
    dataset=dict(
        data_root=data_root,
        metainfo=dict(classes=classes),
        ann_file='annotations/instances_val.json',
        data_prefix=dict(img='JPEGImages/'),
    )
)
test_dataloader = val_dataloader
# the COCO and the VOC-style instance metrics (configs/_base_/instance_metrics.py)
# on the val ground truth
val_evaluator = [
    dict(m, ann_file=data_root + 'annotations/instances_val.json')
    for m in _base_.instance_metrics
]
test_evaluator = val_evaluator
optim_wrapper = dict(optimizer=dict(lr=0.01))
# base_batch_size = (1 GPU) x (8 images per GPU): `tools/train.py --auto-scale-lr`
auto_scale_lr = dict(enable=False, base_batch_size=8)
