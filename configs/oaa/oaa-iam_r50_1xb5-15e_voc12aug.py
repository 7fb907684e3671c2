# OAA+'s integral attention model (Jiang et al., ICCV 2019) on PASCAL VOC 2012
# train_aug: IRN's ResNet-50 CAM network from its ImageNet weights (the
# reference starts its VGG-16 from ImageNet too, not from the OAA classifier)
# with OAA's head (three
# 3x3 convs of 512 + ReLU, a 1x1 conv with bias per class), trained to reproduce
# the accumulated maps of configs/oaa/oaa_r50_1xb5-15e_voc12aug.py pixel by pixel
# (IntegralAttentionLoss: target-weighted positives, balanced negatives) with
# OAA's recipe (that config's: shorter side 224, flip, no crop, batch 5 x 5
# accumulated, Nesterov SGD lr 1e-3 with the head x10, weight decay 5e-4, x0.1
# after epochs 5 and 10 of 15, as the reference's PyTorch train_iam.sh). Its
# maps, single scale as the reference infers them, are exported in the CAM seed
# format ({work_dir}/cams) and scored on VOC train; a pipeline cuts them at their
# own ground-truth-free Otsu background score (the substitute for the saliency
# maps of OAA's proxy labels; docs/reproduction/oaa.md).
#   python tools/train.py configs/oaa/oaa_r50_1xb5-15e_voc12aug.py
#   python tools/train.py configs/oaa/oaa-iam_r50_1xb5-15e_voc12aug.py
# Maps of another OAA run: --cfg-options train_dataloader.dataset.pipeline.2.cam_dir=DIR
_base_ = ['./oaa_r50_1xb5-15e_voc12aug.py']
oaa_dir = '{{fileDirname}}/../../work_dirs/oaa_r50_1xb5-15e_voc12aug/oaa_maps'
model = dict(
    type='IntegralAttentionModel',
    head=dict(
        _delete_=True,
        type='IntegralAttentionHead',
        in_channels=2048,
        num_classes=20,
        channels=512,
        num_convs=3,
        loss=dict(type='IntegralAttentionLoss', pos_thr=1 / 255),
    ),
    # the reference's integral attention maps: one scale, no flip
    test_cfg=dict(scales=(1.0,), flip=False),
)
train_dataloader = dict(
    dataset=dict(
        pipeline=[
            dict(type='LoadImageFromFileChecked'),
            dict(type='LoadImageLevelLabels'),
            dict(type='LoadCAMs', cam_dir=oaa_dir),
            dict(type='Resize', scale=(1120, 224), keep_ratio=True),
            dict(type='RandomFlip', prob=0.5),
            dict(type='PackWSSSInputs'),
        ]
    )
)
# no accumulation here: the model learns from OAA's maps
custom_hooks = [dict(type='WSSSClassNumCheckHook')]
