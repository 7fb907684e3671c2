# PRM classifier on PASCAL VOC 2012 (Zhou et al., CVPR 2018): ResNet-50, a 1x1
# classifier (with bias) on its output-stride-32 features to the 20 class
# response maps, peak stimulation (3x3 peaks, one per plateau, at or above the
# median, each with the score's full gradient; the maps upsampled x8 before
# peak finding as PRM does). PRM's
# training recipe (its reference code's config): images resized to 448 x 448
# (whole images, no crop), flipped at random, batch 16, SGD momentum 0.9 weight
# decay 1e-4, lr 0.01 for the classifier and 0.01 x 0.01 = 1e-4 for the
# ResNet-50 features (its `finetune` groups multiply the base lr), constant
# (no schedule), 20 epochs. PRM trains on VOC 2012 trainval; this config on
# train_aug image labels (the pseudo labels are for train_aug; val stays unseen).
# docs/reproduction/voc_recipes.md lists each setting. The test exports the
# response maps as CAMs ({work_dir}/cams) and PRM's cues
# ({work_dir}/peak_responses: the peaks on the response grid and one peak
# response map each, stored at stride 2; peaks under a tenth of their class
# map's maximum are not exported, so a WISE min_score under 0.1 acts as 0.1)
# for WISE's proposal retrieval.
#   python tools/train.py configs/prm/prm_r50_1xb16-20e_voc12-448.py
_base_ = ['../cam/cam_r50_1xb16-5e_voc12aug-512.py']
crop_size = (448, 448)
max_epochs = 20
model = dict(
    type='PRMClassifier',
    data_preprocessor=dict(size=crop_size),
    # PRM's FC-ResNet: torchvision's ResNet-50 as published (output stride 32),
    # every stage trained, batch norm in training mode (the CAM base freezes
    # the stem and stages 1-2 and keeps ImageNet statistics, as IRN)
    backbone=dict(strides=(1, 2, 2, 2), frozen_stages=-1, norm_eval=False),
    head=dict(type='PRMHead', window=3, upsample=8),
    test_cfg=dict(peak_min_score=0.1, prm_stride=2),
)
test_cfg = dict(
    exporter=dict(
        _delete_=True,
        type='CompositeExporter',
        exporters=[
            dict(type='CAMExporter', out_dir='{work_dir}/cams'),
            dict(type='PeakResponseExporter', out_dir='{work_dir}/peak_responses'),
        ],
    )
)
train_dataloader = dict(
    dataset=dict(
        pipeline=[
            dict(type='LoadImageFromFileChecked'),
            dict(type='LoadImageLevelLabels'),
            dict(type='Resize', scale=crop_size, keep_ratio=False),
            dict(type='RandomFlip', prob=0.5),
            dict(type='PackWSSSInputs'),
        ]
    )
)
# the classifier (head.*) at lr 0.01, the backbone at 0.01 of it; mmengine
# matches the longest key first, so EfficientNet-style 'backbone.head' names
# stay with the backbone
optim_wrapper = dict(
    optimizer=dict(lr=0.01, momentum=0.9, weight_decay=1e-4),
    paramwise_cfg=dict(
        custom_keys={'backbone': dict(lr_mult=0.01), 'head': dict(lr_mult=1.0)}
    ),
)
param_scheduler = []  # constant lr, as PRM's trainer (no scheduler)
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
