# PASCAL VOC 2012 for AffinityNet. train: train_aug (10582 images) with PSA labels
# (0 background, classes, 255 unsure; tools/refine_seeds.py psa) as segmentation
# maps, with PSA's augmentation for AffinityNet (train_aff of PSA's reference
# code): torchvision's colour jitter (brightness, contrast, saturation 0.3, hue
# 0.1) on the whole image, a random 448 crop at the original scale (no rescale:
# PSA's 448-768 long side belongs to its classifier's training), flip; the crop
# of a smaller image is padded with black and 255 (unsure), as PSA pads before
# normalising. test: VOC train (1464, pixel GT) at original size with the CAM
# stage's full-resolution CAMs; the walk's pseudo masks are exported and scored
# (set test_dataloader.dataset.ann_file to train_aug.txt to export the masks
# DeepLab trains on).
dataset_type = 'WSSSVOCDataset'
data_root = 'data/VOCdevkit/VOC2012'
crop_size = (448, 448)
# absolute, from the repository root (a relative prefix would be joined
# with data_root): run the tools from the repository root
repo_root = '{{ fileDirname }}/../../../'
cam_dir = 'work_dirs/cam_r50_1xb16-5e_voc12aug-512/cams'
psa_label_dir = 'work_dirs/cam_r50_1xb16-5e_voc12aug-512/psa_labels'

train_pipeline = [
    dict(type='LoadImageFromFileChecked'),
    # checks each mask's size and values (VOC: 21 classes, 255 ignore)
    dict(type='LoadAnnotationsChecked', num_classes=21),
    dict(type='ColorJitter', brightness=0.3, contrast=0.3, saturation=0.3, hue=0.1),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='Pad', size=crop_size, pad_val=dict(img=0, seg=255)),
    dict(type='PackWSSSInputs', require_labels=False),
]
test_pipeline = [
    dict(type='LoadImageFromFileChecked'),
    dict(type='LoadOptionalAnnotations'),
    dict(type='LoadCAMs', cam_dir=cam_dir, high_res=True),
    dict(type='PackWSSSInputs', require_labels=False),
]

train_dataloader = dict(
    batch_size=8,
    # the reference drops the last partial batch (drop_last=True)
    drop_last=True,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='ImageSets/Segmentation/train_aug.txt',
        label_file='cls_labels.json',
        data_prefix=dict(img_path='JPEGImages', seg_map_path=repo_root + psa_label_dir),
        pipeline=train_pipeline,
    ),
)
test_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='ImageSets/Segmentation/train.txt',
        label_file='cls_labels.json',
        data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClass'),
        pipeline=test_pipeline,
    ),
)
