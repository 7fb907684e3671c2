# Self-training's labelling pass: a trained bench DeepLabV2 (any of the
# deeplabv2_effl0-d16_*_fashionpaste-160 checkpoints) predicts the train split,
# its logits restricted to background and each image's own classes (the image
# labels are the weak supervision a user has; PtReCl's recovery head does the
# same, LabelConditionedASPPHead). The predictions are written as label PNGs
# ('{work_dir}/predicted_labels'), the next round's training masks, and scored
# against the train ground truth (analysis only). No training: run it with a
# checkpoint,
#   python tools/test.py configs/deeplabv2/deeplabv2_effl0-d16_predict-train_fashionpaste-160.py \
#       work_dirs/.../iter_2000.pth
# Self-training (predictions of the final net as the next round's labels) is
# the usual last step of the multi-stage WSSS recipes, e.g. Wei et al. (STC,
# TPAMI 2017), Lee et al. (FickleNet, CVPR 2019: "retrain on the predictions").
_base_ = ['./deeplabv2_effl0-d16_1xb8-2000it_fashionpaste-160.py']

# the checkpoint carries the weights; nothing to initialise from
model = dict(
    backbone=dict(init_cfg=None),
    decode_head=dict(type='LabelConditionedASPPHead'),
)
test_pipeline = [
    dict(type='LoadImageFromFileChecked'),
    dict(type='LoadAnnotations'),
    dict(type='LoadImageLevelLabels', num_classes=11),
    dict(type='PackWSSSInputs'),
]
test_dataloader = dict(
    _delete_=True,
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
    _delete_=True,
    type='ExportTestLoop',
    exporter=dict(type='LabelPNGExporter', out_dir='{work_dir}/predicted_labels'),
)
test_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
