# FashionPaste demo benchmark for IRNet: train on the IR labels of the train split
# (PNG, 0 background, classes, 255 unsure), test on the same split with its CAMs
# (LoadCAMs) and GT masks: the exported pseudo masks are scored against the GT.
# cam_dir / ir_label_dir default to the CAM benchmark's work dir; the algorithm
# configs set them again at their top (see there how to override them).
# '{{fileDirname}}' makes them absolute: mmengine joins a relative seg_map_path
# with data_root.
dataset_type = 'FashionPasteDataset'
data_root = 'data/fashionpaste_demo'
crop_size = (160, 160)
cam_dir = '{{fileDirname}}/../../../work_dirs/cam_effl0_1xb16-8e_fashionpaste-160/cams'
ir_label_dir = (
    '{{fileDirname}}/../../../work_dirs/cam_effl0_1xb16-8e_fashionpaste-160/ir_labels'
)

train_pipeline = [
    dict(type='LoadImageFromFileChecked'),
    # checks each mask's size and values (FashionPaste: 11 classes, 255 ignore)
    dict(type='LoadAnnotationsChecked', num_classes=11),
    # IRN rescales each image by 0.5-1.5; FashionPaste images are 160 px
    dict(type='RandomResize', scale=crop_size, ratio_range=(0.5, 1.5), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='PackWSSSInputs', require_labels=False),
]
test_pipeline = [
    dict(type='LoadImageFromFileChecked'),
    dict(type='LoadOptionalAnnotations'),
    dict(type='LoadCAMs', cam_dir=cam_dir),
    dict(type='PackWSSSInputs', require_labels=False),
]

train_dataloader = dict(
    batch_size=16,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='ImageSets/Segmentation/train.txt',
        label_file='cls_labels.json',
        data_prefix=dict(img_path='JPEGImages', seg_map_path=ir_label_dir),
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
