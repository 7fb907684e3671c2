# CAM classifier of IRN (Ahn, Cho & Kwak, CVPR 2019), as IRN's reference code builds
# it: torchvision's ResNet-50 (7x7 stem, stride in the 3x3 convs, ImageNet weights)
# at output stride 16 (strides 2 / 2 / 1 in the last three stages, no dilation),
# then global average pooling and a bias-free 1x1 classifier.
# What trains: IRN detaches the features after stage 2, so the stem and stages 1-2
# get no gradient (frozen_stages=2 here, the same thing); stages 3-4 train their
# convs and their batch-norm scales and shifts, while every batch norm keeps its
# ImageNet statistics (IRN's FixedBatchNorm; norm_eval here). The classifier
# starts from PyTorch's default conv initialisation, as IRN's (kaiming uniform
# with a = sqrt(5), i.e. uniform in +-1 / sqrt(fan_in)).
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
        frozen_stages=2,
        style='pytorch',
        init_cfg=dict(
            type='Pretrained',
            checkpoint='https://download.pytorch.org/models/resnet50-0676ba61.pth',
        ),
    ),
    head=dict(
        type='CAMHead',
        in_channels=2048,
        num_classes=20,
        loss_cls=dict(type='MultiLabelSoftMarginLoss', loss_weight=1.0),
        init_cfg=dict(
            type='Kaiming',
            layer='Conv2d',
            a=5**0.5,
            mode='fan_in',
            nonlinearity='leaky_relu',
            distribution='uniform',
        ),
    ),
    test_cfg=dict(
        scales=(1.0, 0.5, 1.5, 2.0), flip=True, strided_stride=4, bg_score=0.15
    ),
)
