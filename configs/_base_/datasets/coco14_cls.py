# COCO 2014 for classifier training (82783 train images; image-level labels from
# the instances json). Masks for test/val come from
# tools/dataset_converters/coco_wsss.py (written to wsss/{split}/SegmentationClass).
# test: train2014 with masks (seeds and pseudo masks are scored on train);
# val: val2014 with masks. Images without any non-crowd object are dropped.
# Train images smaller than the crop are padded by the model's data
# preprocessor (SegDataPreProcessor(size=crop_size)).
dataset_type = 'WSSSCOCODataset'
data_root = 'data/coco'
crop_size = (512, 512)

train_pipeline = [
    dict(type='LoadImageFromFileChecked'),
    dict(type='LoadImageLevelLabels'),
    dict(
        type='RandomResize',
        scale=(512, 512),
        ratio_range=(0.625, 1.25),
        keep_ratio=True,
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
        ann_file='annotations/instances_train2014.json',
        data_prefix=dict(img_path='train2014', seg_map_path=None),
        filter_empty=True,
        pipeline=train_pipeline,
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
        ann_file='annotations/instances_val2014.json',
        data_prefix=dict(
            img_path='val2014', seg_map_path='wsss/val2014/SegmentationClass'
        ),
        filter_empty=True,
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
        ann_file='annotations/instances_train2014.json',
        data_prefix=dict(
            img_path='train2014', seg_map_path='wsss/train2014/SegmentationClass'
        ),
        filter_empty=True,
        pipeline=test_pipeline,
    ),
)
