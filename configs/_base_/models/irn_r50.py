# IRNet of Ahn et al. (CVPR 2019) on a frozen ResNet-50 at output stride 16, as
# IRN's reference code builds it: torchvision's ResNet-50 (7x7 stem, stride in the
# 3x3 convs, ImageNet weights), strides 2 / 2 / 1 in the last three stages and no
# dilation, batch norm frozen. IRN taps five levels: the stem after max pooling
# (64 ch, stride 4) and the four stages (256 / 512 / 1024 / 2048 ch, strides 4, 8,
# 16, 16); ResNetWithStem returns the stem's output first. All five feed the
# boundary branch; the two stride-4 levels (stem, stage 1) are the displacement
# branch's fine inputs, stages 2-4 its coarse ones.
# The weights are torchvision's ResNet-50 ImageNet weights (IMAGENET1K_V1, what
# mmengine's 'torchvision://resnet50' resolves to), fetched from their URL so that
# torchvision need not be installed.
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
        type='ResNetWithStem',
        depth=50,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        strides=(1, 2, 2, 1),
        dilations=(1, 1, 1, 1),
        norm_cfg=dict(type='BN', requires_grad=False),
        norm_eval=True,
        style='pytorch',
        init_cfg=dict(
            type='Pretrained',
            checkpoint='https://download.pytorch.org/models/resnet50-0676ba61.pth',
        ),
    ),
    boundary_head=dict(
        type='IRNBoundaryHead', in_channels=(64, 256, 512, 1024, 2048), channels=32
    ),
    displacement_head=dict(
        type='IRNDisplacementHead',
        in_channels=(64, 256, 512, 1024, 2048),
        fine_levels=(0, 1),
        fine_channels=(64, 128),
    ),
    train_cfg=dict(radius=10),
    test_cfg=dict(radius=5, beta=10, steps=256, bg_score=0.25, flip=True),
)
