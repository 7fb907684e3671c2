# AffinityNet (PSA, Ahn & Kwak, CVPR 2018). PSA uses a wide ResNet-38, which
# MMSegmentation lacks; this is mmseg's ResNetV1c-50 (open-mmlab ImageNet weights)
# dilated to output stride 8 like PSA's network, whose three deepest levels (all
# stride 8) feed the head. PSA's head: 1x1 convs to 64 / 128 / 256 ch, ELU, concat,
# 1x1 conv to 448 ch, ELU. The backbone is fine-tuned with batch norm frozen
# (statistics and affine parameters) and the stem + first stage frozen, as in PSA.
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size=(448, 448),
)
model = dict(
    type='AffinityNet',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='ResNetV1c',
        depth=50,
        num_stages=4,
        out_indices=(1, 2, 3),
        strides=(1, 2, 1, 1),
        dilations=(1, 1, 2, 4),
        norm_cfg=dict(type='BN', requires_grad=False),
        norm_eval=True,
        frozen_stages=1,
        contract_dilation=True,
        style='pytorch',
        init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://resnet50_v1c'),
    ),
    head=dict(
        type='AffinityHead',
        in_channels=(512, 1024, 2048),
        channels=(64, 128, 256),
        out_channels=448,
    ),
    train_cfg=dict(radius=5, label_downscale='majority'),
    test_cfg=dict(radius=5, beta=8, steps=256, alpha=16, flip=False),
)
