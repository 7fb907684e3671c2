# OAA (Jiang, Hou, Cao, Cheng, Wei & Xiong, "Integral Object Mining via Online
# Attention Accumulation", ICCV 2019) on PASCAL VOC 2012 train_aug: the IRN CAM
# classifier (ResNet-50, output stride 16, configs/cam/cam_r50_1xb16-5e_voc12aug-512.py)
# trained as OAA's reference code trains its classifier, while OAAHook
# accumulates each image's class attention from the second epoch on (training
# CAM, ReLU, min-max normalised, for its labels among its top-k scores, flipped
# back onto the image, merged by element-wise maximum; in the last epoch a class
# still without a map takes that epoch's attention). The accumulated maps
# ({work_dir}/oaa_maps, the CAM seed format) are OAA's seeds; the test loop still
# exports the final classifier's CAMs ({work_dir}/cams).
# OAA's recipe (the authors' PyTorch code; its Caffe code in brackets): whole
# images with the shorter side resized to 224, never cropped, flipped at random
# [Caffe; PyTorch does not flip], batch 5 with gradients accumulated over 5
# batches (effective 25) [Caffe: batch 1 x 5], SGD with Nesterov momentum 0.9,
# weight decay 5e-4, lr 1e-3 with the new layers (the classifier) x10, divided
# by 10 after epochs 5 and 10 of 15. Departures: ResNet-50 (IRN's CAM network)
# instead of OAA's VGG-16, so that OAA and CAM differ by OAA only and no
# VGG-16 weights are needed; no colour jitter (PyTorch only); OAA's x2 / x20 lr
# of biases do not apply (the backbone's convolutions and the classifier have
# none). docs/reproduction/oaa.md compares each accumulation setting with the
# reference code.
#   python tools/train.py configs/oaa/oaa_r50_1xb5-15e_voc12aug.py
_base_ = ['../cam/cam_r50_1xb16-5e_voc12aug-512.py']
max_epochs = 15
# whole images of different sizes in one batch: padded to the batch's largest
# (a multiple of 32) with the mean colour; OAAHook excludes the padding
model = dict(data_preprocessor=dict(size=None, size_divisor=32))
train_dataloader = dict(
    batch_size=5,
    drop_last=False,
    dataset=dict(
        # every image passes (one without a class is a negative example): the
        # seeds cover the whole split
        filter_empty=False,
        pipeline=[
            dict(type='LoadImageFromFileChecked'),
            dict(type='LoadImageLevelLabels'),
            # the shorter side to 224 (OAA's ResizeShort(224)): a long-side
            # bound of 5 x 224 leaves every VOC aspect ratio to the short side
            dict(type='Resize', scale=(1120, 224), keep_ratio=True),
            dict(type='RandomFlip', prob=0.5),
            dict(type='PackWSSSInputs'),
        ],
    ),
)
optim_wrapper = dict(
    optimizer=dict(lr=1e-3, momentum=0.9, nesterov=True, weight_decay=5e-4),
    accumulative_counts=5,
)
param_scheduler = [
    dict(
        type='MultiStepLR',
        by_epoch=True,
        begin=0,
        end=max_epochs,
        milestones=[5, 10],
        gamma=0.1,
    )
]
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
custom_hooks = [
    dict(type='WSSSClassNumCheckHook'),
    dict(type='OAAHook', out_dir='{work_dir}/oaa_maps', start_epoch=1, stride=4),
]
# base_batch_size = (1 GPU) x (5 images per GPU): `tools/train.py --auto-scale-lr`
auto_scale_lr = dict(enable=False, base_batch_size=5)
