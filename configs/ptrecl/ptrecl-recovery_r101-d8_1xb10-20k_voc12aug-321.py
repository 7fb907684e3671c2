# PtReCl's pseudo-mask recovery net on PASCAL VOC 2012 train_aug: the DeepLabV2
# ResNet-101 recipe (crop 321, batch 10, 20k iterations, SGD 2.5e-4, head x10)
# with the label-conditioned head, trained on IRN's pseudo masks; validated on val
# (conditioned on its image labels); tested on train_aug (its own recovered
# masks, written as PNGs to {work_dir}/recovered_labels for the prototype stage,
# scored against SegmentationClassAug).
#   python tools/train.py configs/ptrecl/ptrecl-recovery_r101-d8_1xb10-20k_voc12aug-321.py \
#       --cfg-options train_dataloader.dataset.pseudo_dir=IRN_LABEL_DIR
# Image labels come from cls_labels.json (tools/dataset_converters/voc_aug.py).
_base_ = ['../deeplabv2/deeplabv2_r101-d8_1xb10-20k_voc12aug-321.py']

model = dict(decode_head=dict(type='LabelConditionedASPPHead'))
crop_size = (321, 321)
train_pipeline = [
    dict(type='LoadImageFromFileChecked'),
    dict(type='LoadAnnotationsChecked', num_classes=21),
    dict(type='LoadImageLevelLabels', num_classes=21),
    # DeepLab's scale augmentation (as the DeepLabV2 VOC config): the image and
    # its mask rescaled by 0.5-1.5 of their own size, then a 321 crop
    dict(type='RandomRescale', ratio_range=(0.5, 1.5)),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackWSSSInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFileChecked'),
    dict(type='LoadAnnotations'),
    dict(type='LoadImageLevelLabels', num_classes=21),
    dict(type='PackWSSSInputs'),
]
voc = dict(
    type='WSSSVOCDataset',
    data_root='data/VOCdevkit/VOC2012',
    label_file='cls_labels.json',
)
train_aug = dict(
    voc,
    ann_file='ImageSets/Segmentation/train_aug.txt',
    data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClassAug'),
)
train_dataloader = dict(
    dataset=dict(dataset=dict(_delete_=True, pipeline=train_pipeline, **train_aug))
)
val_dataloader = dict(
    dataset=dict(
        _delete_=True,
        ann_file='ImageSets/Segmentation/val.txt',
        data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClass'),
        pipeline=test_pipeline,
        **voc,
    )
)
test_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(pipeline=test_pipeline, **train_aug),
)
test_cfg = dict(
    type='ExportTestLoop',
    exporter=dict(type='LabelPNGExporter', out_dir='{work_dir}/recovered_labels'),
)
test_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
