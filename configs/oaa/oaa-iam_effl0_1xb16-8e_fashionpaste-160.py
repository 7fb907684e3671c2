# OAA+'s integral attention model (Jiang et al., ICCV 2019) on the embedded
# FashionPaste benchmark: EfficientNet-Lite0 from its ImageNet weights (the
# reference starts from ImageNet too, not from the OAA classifier) and OAA's head
# (three 3x3 convs of 512 + ReLU, a 1x1 conv with bias per class), trained for
# the bench classifier's 8 epochs on whole images (resized to fit 160, randomly
# flipped, no crop) to reproduce the accumulated maps of the OAA stage pixel by
# pixel (IntegralAttentionLoss: target-weighted positives, balanced negatives).
# Its maps, single scale as the reference infers them, are exported in the CAM
# seed format ({work_dir}/cams) and scored on train; the pipeline cuts them at
# their own ground-truth-free Otsu background score (the substitute for the
# saliency maps of OAA's proxy labels; docs/reproduction/oaa.md).
#   python tools/train.py configs/oaa/oaa-iam_effl0_1xb16-8e_fashionpaste-160.py
#   python tools/test.py configs/oaa/oaa-iam_effl0_1xb16-8e_fashionpaste-160.py \
#       work_dirs/oaa-iam_effl0_1xb16-8e_fashionpaste-160/epoch_8.pth
# In a pipeline, cams='<OAA stage>.oaa_maps' points LoadCAMs at the maps; by hand:
#   --cfg-options train_dataloader.dataset.pipeline.2.cam_dir=DIR
_base_ = ['../cam/cam_effl0_1xb16-8e_fashionpaste-160.py']
image_size = (160, 160)
oaa_dir = '{{fileDirname}}/../../work_dirs/oaa_effl0_1xb16-8e_fashionpaste-160/oaa_maps'
model = dict(
    type='IntegralAttentionModel',
    head=dict(
        _delete_=True,
        type='IntegralAttentionHead',
        in_channels=1280,
        num_classes=10,
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
            dict(type='Resize', scale=image_size, keep_ratio=True),
            dict(type='RandomFlip', prob=0.5),
            dict(type='PackWSSSInputs'),
        ]
    )
)
# OAA's solver: SGD with momentum 0.9 (whatever the CAM schedule uses); the head
# trains at lr x10 (the schedule's 'head' key, as the PyTorch reference's extra
# convs)
optim_wrapper = dict(optimizer=dict(momentum=0.9))
