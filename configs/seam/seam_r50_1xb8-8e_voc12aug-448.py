# SEAM on PASCAL VOC 2012 train_aug (its recipe: crop 448, batch 8, 8 epochs, SGD
# lr 0.01, weight decay 5e-4; the second view at 0.3x; ER and ECR weighted 1;
# inference on the revised CAM at scales 0.5 / 1 / 1.5 / 2 + flip), on the CAM
# classifier's ResNet-50 (SEAM's paper uses ResNet-38) with PCM on its stage 2 and
# stage 3 outputs.
#   python tools/train.py configs/seam/seam_r50_1xb8-8e_voc12aug-448.py
_base_ = ['../cam/cam_r50_1xb16-5e_voc12aug-512.py']
crop_size = (448, 448)
max_epochs = 8
model = dict(
    type='SEAMClassifier',
    data_preprocessor=dict(size=crop_size),
    backbone=dict(out_indices=(1, 2, 3)),
    pcm_in_indices=(0, 1),
    pcm_in_channels=(512, 1024),
    pcm_channels=(64, 128),
    pcm_out_channels=192,
    scale=0.3,
    ecr_fraction=0.2,
    test_cfg=dict(scales=(1.0, 0.5, 1.5, 2.0), flip=True),
)
train_dataloader = dict(
    batch_size=8,
    dataset=dict(
        pipeline=[
            dict(type='LoadImageFromFileChecked'),
            dict(type='LoadImageLevelLabels'),
            dict(
                type='RandomResize',
                scale=crop_size,
                ratio_range=(0.625, 1.25),
                keep_ratio=True,
            ),
            dict(type='RandomFlip', prob=0.5),
            dict(type='RandomCrop', crop_size=crop_size),
            dict(type='PackWSSSInputs'),
        ]
    ),
)
optim_wrapper = dict(optimizer=dict(lr=0.01, weight_decay=5e-4))
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
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
