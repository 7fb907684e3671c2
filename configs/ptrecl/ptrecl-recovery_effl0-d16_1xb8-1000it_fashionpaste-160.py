# PtReCl's pseudo-mask recovery net on the embedded FashionPaste benchmark: the
# bench DeepLabV2 recipe (EfficientNet-Lite0 at output stride 16, ASPP-v2, AdamW,
# 1000 iterations, backbone from the CAM classifier) with a label-conditioned head
# (LabelConditionedASPPHead: only background and the image's classes keep their
# logits, at training and inference), trained on IRN's pseudo masks. Validated on
# val (conditioned on val's image labels); tested on train: its own recovered
# pseudo masks, written as PNGs ({work_dir}/recovered_labels, the masks the
# prototype stage splits the features by) and scored against the train ground
# truth.
#   python tools/train.py configs/ptrecl/ptrecl-recovery_effl0-d16_1xb8-1000it_fashionpaste-160.py \
#       --cfg-options train_dataloader.dataset.pseudo_dir=IRN_LABEL_DIR \
#       model.backbone.init_cfg.checkpoint=CAM_CHECKPOINT
# PtReCl (IEEE TIP): "only the channels of the image's GT classes (plus background)
# are kept; the others are dropped before softmax".
_base_ = ['../deeplabv2/deeplabv2_effl0-d16_1xb8-1000it_fashionpaste-160.py']

model = dict(decode_head=dict(type='LabelConditionedASPPHead'))
crop_size = (160, 160)
train_pipeline = [
    dict(type='LoadImageFromFileChecked'),
    dict(type='LoadAnnotationsChecked', num_classes=11),
    dict(type='LoadImageLevelLabels', num_classes=11),
    dict(type='RandomResize', scale=crop_size, ratio_range=(0.5, 1.5), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackWSSSInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFileChecked'),
    dict(type='LoadAnnotations'),
    dict(type='LoadImageLevelLabels', num_classes=11),
    dict(type='PackWSSSInputs'),
]
train_dataloader = dict(dataset=dict(dataset=dict(pipeline=train_pipeline)))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='FashionPasteDataset',
        data_root='data/fashionpaste_demo',
        ann_file='ImageSets/Segmentation/train.txt',
        label_file='cls_labels.json',
        data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClass'),
        pipeline=test_pipeline,
    ),
)
test_cfg = dict(
    type='ExportTestLoop',
    exporter=dict(type='LabelPNGExporter', out_dir='{work_dir}/recovered_labels'),
)
test_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
