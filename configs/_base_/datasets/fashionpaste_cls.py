# FashionPaste demo benchmark (160x160 images, 10 classes + background) for
# classifier training. Generate it first (see tools/ and BENCHMARKS.md).
# train: `train`; test: `train` with masks (seeds and pseudo masks are scored on
# the training split, as on VOC); val: `val`.
dataset_type = 'FashionPasteDataset'
data_root = 'data/fashionpaste_demo'
crop_size = (160, 160)

train_pipeline = [
    dict(type='LoadImageFromFileChecked'),
    dict(type='LoadImageLevelLabels'),
    dict(
        type='RandomResize', scale=(160, 160), ratio_range=(0.75, 1.25), keep_ratio=True
    ),
    dict(type='RandomFlip', prob=0.5),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='PackWSSSInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFileChecked'),
    dict(type='LoadOptionalAnnotations'),
    dict(type='LoadImageLevelLabels'),
    dict(type='PackWSSSInputs'),
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
        data_prefix=dict(img_path='JPEGImages', seg_map_path=None),
        pipeline=train_pipeline,
        # an image without a foreground label teaches the classifier nothing:
        # skip it with a log line
        filter_empty=True,
    ),
)
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='ImageSets/Segmentation/val.txt',
        label_file='cls_labels.json',
        data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClass'),
        pipeline=test_pipeline,
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
