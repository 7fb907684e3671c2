# AffinityNet with the recipe of PSA (Ahn & Kwak, "Learning Pixel-level Semantic
# Affinity with Image-level Supervision", CVPR 2018) and its reference code
# (jiwoon-ahn/psa), on a ResNetV1c-50 at output stride 8 (PSA's ResNet-38 is not
# in mmseg): VOC 2012 train_aug with PSA labels, colour jitter, crop 448 at the
# original scale, flip, batch 8, 8 epochs, SGD lr 0.1 (head x10), weight decay
# 5e-4, momentum 5e-4 (PSA's optimizer quirk), poly 0.9. Test: single-scale
# affinities, random walk with beta 8, 256 steps, background (1 - max CAM) ** 16
# (published: 61.0 mIoU on train, ResNet-38).
# docs/reproduction/voc_recipes.md lists each setting against PSA's.
#   python tools/test.py configs/cam/cam_r50_1xb16-5e_voc12aug-512.py \
#       work_dirs/cam_r50_1xb16-5e_voc12aug-512/epoch_5.pth \
#       --cfg-options test_dataloader.dataset.ann_file=ImageSets/Segmentation/train_aug.txt
#   python tools/refine_seeds.py psa \
#       --cam-dir work_dirs/cam_r50_1xb16-5e_voc12aug-512/cams \
#       --data-root data/VOCdevkit/VOC2012 --split train_aug
#   python tools/train.py configs/affinitynet/affinitynet_r50_1xb8-8e_voc12aug-448.py
#   python tools/test.py configs/affinitynet/affinitynet_r50_1xb8-8e_voc12aug-448.py \
#       work_dirs/affinitynet_r50_1xb8-8e_voc12aug-448/epoch_8.pth
# cam_dir and psa_label_dir are read when this file is parsed, so other folders
# are set on the fields that use them:
#   --cfg-options train_dataloader.dataset.data_prefix.seg_map_path=/abs/psa_labels
#       test_dataloader.dataset.pipeline.2.cam_dir=/path/to/cams
_base_ = [
    '../_base_/models/affinitynet_r50.py',
    '../_base_/datasets/voc12_affinity.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/affinitynet_sgd_poly.py',
]
# absolute, from the repository root (a relative prefix would be joined
# with data_root): run the tools from the repository root
repo_root = '{{ fileDirname }}/../../'
cam_dir = 'work_dirs/cam_r50_1xb16-5e_voc12aug-512/cams'
psa_label_dir = 'work_dirs/cam_r50_1xb16-5e_voc12aug-512/psa_labels'

model = dict(data_preprocessor=dict(size=(448, 448)))
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
# base_batch_size = (1 GPU) x (8 images per GPU): `tools/train.py --auto-scale-lr`
auto_scale_lr = dict(enable=False, base_batch_size=8)
