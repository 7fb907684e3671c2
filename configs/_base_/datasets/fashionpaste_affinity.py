# FashionPaste demo benchmark (160x160 images, 10 classes + background) for
# AffinityNet. train: `train` images with PSA labels (0 background, classes, 255
# unsure; tools/refine_seeds.py psa) as segmentation maps. test: `train` with its
# GT masks and the CAM stage's full-resolution CAMs; the walk's pseudo masks are
# exported and scored. Images are not resized at test time (the CAMs are at the
# original size).
dataset_type = 'FashionPasteDataset'
data_root = 'data/fashionpaste_demo'
crop_size = (160, 160)
# absolute, from the repository root (a relative prefix would be joined
# with data_root): run the tools from the repository root
repo_root = '{{ fileDirname }}/../../../'
cam_dir = 'work_dirs/cam_effl0_1xb16-8e_fashionpaste-160/cams'
psa_label_dir = 'work_dirs/cam_effl0_1xb16-8e_fashionpaste-160/psa_labels'

train_pipeline = [
    dict(type='LoadImageFromFileChecked'),
    # checks each mask's size and values (FashionPaste: 11 classes, 255 ignore)
    dict(type='LoadAnnotationsChecked', num_classes=11),
    dict(
        type='RandomResize', scale=(160, 160), ratio_range=(0.75, 1.25), keep_ratio=True
    ),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    # PSA's colour jitter: brightness, contrast, saturation 0.3, hue 0.1
    dict(
        type='PhotoMetricDistortion',
        brightness_delta=38,
        contrast_range=(0.7, 1.3),
        saturation_range=(0.7, 1.3),
        hue_delta=18,
    ),
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
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='ImageSets/Segmentation/train.txt',
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
