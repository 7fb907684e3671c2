# SEAM (Wang et al., CVPR 2020) on PASCAL VOC 2012 train_aug with its reference
# code's recipe (YudeWang/SEAM, train_SEAM.py / infer_SEAM.py): long side
# 448-768, flip, colour jitter (0.3, 0.3, 0.3, 0.1), crop 448, batch 8, 8
# epochs; dropout 0.5 before the classifier; its optimiser
# (SGD lr 0.01, weight decay 5e-4, poly 0.9 per iteration, the new layers at lr
# x10: the CAM head and the PCM convolutions; its PolyOptimizer passes the
# weight decay into SGD's momentum slot, so momentum 5e-4); the second view at
# 0.3x; ER, ECR and the min-pooling loss weighted 1; inference on the revised
# CAM at scales 0.5 / 1 / 1.5 / 2 + flip, min-max normalised, background 0.26
# (its out_cam_pred_alpha). Settings against SEAM's paper and code:
# docs/reproduction/seam_hfpl.md.
#   python tools/train.py configs/seam/seam_r50_1xb8-8e_voc12aug-448.py
# Deviations: ResNet-50 (torchvision ImageNet weights) for SEAM's ResNet-38,
# dilated to SEAM's output stride 8; batch norm frozen as in SEAM (statistics
# and affine); stem + stage 1 frozen (SEAM freezes ResNet-38's conv1a and b2
# blocks, at strides 1-2; the CAM base freezes stage 2 too, as IRN);
# PCM on stage 2 (512 ch) and stage 3 (1024 ch), both at stride 8 like
# ResNet-38's conv4 / conv5; the classifier Xavier-uniform as SEAM's fc8; a crop
# smaller than 448 is padded at its bottom / right (SEAM places it at random).
_base_ = ['../cam/cam_r50_1xb16-5e_voc12aug-512.py']
crop_size = (448, 448)
max_epochs = 8
model = dict(
    type='SEAMClassifier',
    data_preprocessor=dict(size=crop_size),
    backbone=dict(
        out_indices=(1, 2, 3),
        strides=(1, 2, 1, 1),
        dilations=(1, 1, 2, 4),
        norm_cfg=dict(type='BN', requires_grad=False),
        frozen_stages=1,
    ),
    head=dict(
        init_cfg=dict(
            _delete_=True, type='Xavier', layer='Conv2d', distribution='uniform'
        )
    ),
    pcm_in_indices=(0, 1),
    pcm_in_channels=(512, 1024),
    pcm_channels=(64, 128),
    pcm_out_channels=192,
    scale=0.3,
    ecr_fraction=0.2,
    cam_dropout=0.5,
    test_cfg=dict(scales=(1.0, 0.5, 1.5, 2.0), flip=True, bg_score=0.26),
)
train_dataloader = dict(
    batch_size=8,
    dataset=dict(
        pipeline=[
            dict(type='LoadImageFromFileChecked'),
            dict(type='LoadImageLevelLabels'),
            # keep_ratio with a square scale: long side 608 x [448/608, 768/608]
            # = 448..768, bicubic through PIL (SEAM's RandomResizeLong(448, 768))
            dict(
                type='RandomResize',
                scale=(608, 608),
                ratio_range=(448 / 608, 768 / 608),
                keep_ratio=True,
                interpolation='bicubic',
                backend='pillow',
            ),
            dict(type='RandomFlip', prob=0.5),
            # torchvision's ColorJitter(0.3, 0.3, 0.3, 0.1), as SEAM
            dict(
                type='ColorJitter',
                brightness=0.3,
                contrast=0.3,
                saturation=0.3,
                hue=0.1,
            ),
            dict(type='RandomCrop', crop_size=crop_size),
            dict(type='PackWSSSInputs'),
        ]
    ),
)
optim_wrapper = dict(
    optimizer=dict(lr=0.01, momentum=5e-4, weight_decay=5e-4),
    paramwise_cfg=dict(
        custom_keys={
            'backbone': dict(lr_mult=1.0),
            'head': dict(lr_mult=10.0),
            'pcm_proj': dict(lr_mult=10.0),
            'pcm_fuse': dict(lr_mult=10.0),
        }
    ),
)
param_scheduler = [
    dict(
        type='PolyLR',
        power=0.9,
        eta_min=0.0,
        by_epoch=True,
        begin=0,
        end=max_epochs,
        convert_to_iter_based=True,
    )
]
# base_batch_size = (1 GPU) x (8 images per GPU): `tools/train.py --auto-scale-lr`
auto_scale_lr = dict(enable=False, base_batch_size=8)
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
