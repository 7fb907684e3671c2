# CAM classifier of IRN (Ahn et al., CVPR 2019): ResNet-50 at output stride 16,
# batch norm frozen, stem + stage 1 frozen, GAP + bias-free 1x1 classifier.
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size=(512, 512),
)
model = dict(
    type='CAMClassifier',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='ResNet',
        depth=50,
        num_stages=4,
        out_indices=(3,),
        strides=(1, 2, 2, 1),
        dilations=(1, 1, 1, 1),
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=True,
        frozen_stages=1,
        style='pytorch',
        init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet50'),
    ),
    head=dict(
        type='CAMHead',
        in_channels=2048,
        num_classes=20,
        loss_cls=dict(type='MultiLabelSoftMarginLoss', loss_weight=1.0),
    ),
    test_cfg=dict(
        scales=(1.0, 0.5, 1.5, 2.0), flip=True, strided_stride=4, bg_score=0.15
    ),
)
