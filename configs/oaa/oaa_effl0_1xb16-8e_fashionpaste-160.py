# OAA (Jiang et al., ICCV 2019) on the embedded FashionPaste benchmark: the bench
# CAM classifier trained as usual while OAAHook accumulates, from the first epoch
# on, each image's class attention (training CAM, ReLU, divided by its max) for
# its classes among its top-k scores, mapped from the training crop back onto the
# image (RandomCropRecorded) and merged by element-wise maximum. The accumulated
# maps ({work_dir}/oaa_maps, the CAM seed format) are OAA's seeds; the test loop
# still exports the final classifier's CAMs ({work_dir}/cams).
#   python tools/train.py configs/oaa/oaa_effl0_1xb16-8e_fashionpaste-160.py
_base_ = ['../cam/cam_effl0_1xb16-8e_fashionpaste-160.py']
crop_size = (160, 160)
train_dataloader = dict(
    dataset=dict(
        # every image passes (one without a class is a negative example): the
        # seeds cover the whole split
        filter_empty=False,
        pipeline=[
            dict(type='LoadImageFromFileChecked'),
            dict(type='LoadImageLevelLabels'),
            dict(
                type='RandomResize',
                scale=crop_size,
                ratio_range=(0.75, 1.25),
                keep_ratio=True,
            ),
            dict(type='RandomFlip', prob=0.5),
            dict(type='RandomCropRecorded', crop_size=crop_size),
            dict(type='PackWSSSInputs'),
        ],
    )
)
custom_hooks = [
    dict(type='WSSSClassNumCheckHook'),
    dict(type='OAAHook', out_dir='{work_dir}/oaa_maps', start_epoch=0, stride=4),
]
