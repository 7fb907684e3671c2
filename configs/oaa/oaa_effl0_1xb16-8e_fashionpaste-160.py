# OAA (Jiang et al., ICCV 2019) on the embedded FashionPaste benchmark: the bench
# CAM classifier trained as OAA trains it, on whole images (resized to fit 160,
# the bench's image size, so unchanged there; randomly flipped; never cropped,
# unlike the CAM recipe's random scale and crop), while OAAHook accumulates, from
# the second epoch on, each image's class attention (training CAM, ReLU, min-max
# normalised) for its classes among its top-k scores, flipped back onto the image
# and merged by element-wise maximum; in the last epoch a class still without a
# map takes that epoch's attention. The accumulated maps ({work_dir}/oaa_maps,
# the CAM seed format, each min-max normalised) are OAA's seeds and the targets
# of OAA+'s integral attention model (oaa-iam_effl0_1xb16-8e_fashionpaste-160.py);
# the test loop still exports the final classifier's CAMs ({work_dir}/cams).
# docs/reproduction/oaa.md compares each setting with the reference code.
#   python tools/train.py configs/oaa/oaa_effl0_1xb16-8e_fashionpaste-160.py
_base_ = ['../cam/cam_effl0_1xb16-8e_fashionpaste-160.py']
image_size = (160, 160)
train_dataloader = dict(
    dataset=dict(
        # every image passes (one without a class is a negative example): the
        # seeds cover the whole split
        filter_empty=False,
        pipeline=[
            dict(type='LoadImageFromFileChecked'),
            dict(type='LoadImageLevelLabels'),
            dict(type='Resize', scale=image_size, keep_ratio=True),
            # OAA's Caffe data layer flips at random and flips the attention
            # back before accumulating (OAAHook reads the recorded flip)
            dict(type='RandomFlip', prob=0.5),
            dict(type='PackWSSSInputs'),
        ],
    )
)
# OAA's solver: SGD with momentum 0.9 (whatever the CAM schedule uses)
optim_wrapper = dict(optimizer=dict(momentum=0.9))
custom_hooks = [
    dict(type='WSSSClassNumCheckHook'),
    dict(type='OAAHook', out_dir='{work_dir}/oaa_maps', start_epoch=1, stride=4),
]
