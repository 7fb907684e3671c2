# IRNet of Ahn et al. (CVPR 2019) on a frozen ResNet-50 at output stride 16 (last
# stage with stride 1 and, as in IRN, no dilation). mmseg's ResNet returns the
# four stages (strides 4, 8, 16, 16; IRN also taps the stem): all feed the
# boundary branch; stage 1 is the displacement branch's stride-4 input.
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
    type='IRNet',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='ResNetV1c',
        depth=50,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        strides=(1, 2, 2, 1),
        dilations=(1, 1, 1, 1),
        norm_cfg=dict(type='BN', requires_grad=False),
        norm_eval=True,
        style='pytorch',
        init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://resnet50_v1c'),
    ),
    boundary_head=dict(
        type='IRNBoundaryHead', in_channels=(256, 512, 1024, 2048), channels=32
    ),
    displacement_head=dict(
        type='IRNDisplacementHead',
        in_channels=(256, 512, 1024, 2048),
        fine_levels=(0,),
        fine_channels=(128,),
    ),
    train_cfg=dict(radius=10),
    test_cfg=dict(radius=5, beta=10, steps=256, bg_score=0.25, flip=True),
)
