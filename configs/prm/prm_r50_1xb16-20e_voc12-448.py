# PRM classifier on PASCAL VOC 2012 (Zhou et al., CVPR 2018): ResNet-50, a 1x1
# classifier to the 20 class response maps, peak stimulation (3x3 peaks, one per
# plateau, at or above the median, each with the score's full gradient; the maps
# upsampled x8 before peak finding as PRM does), crop 448, batch 16, SGD lr 0.01
# momentum 0.9 weight decay 1e-4, 20 epochs. Trained on train_aug image labels;
# the test exports its response maps as CAMs ({work_dir}/cams) and PRM's cues
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
    )
)
optim_wrapper = dict(optimizer=dict(lr=0.01, momentum=0.9, weight_decay=1e-4))
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
