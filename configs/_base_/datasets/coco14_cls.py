# COCO 2014 for classifier training: train2014 (82783 images, 82081 of them
# annotated), 80 classes, image-level labels read from the instances json (the
# categories of an image's non-crowd instances). Masks for test/val come from
# tools/dataset_converters/coco_wsss.py (written to wsss/{split}/SegmentationClass).
# test: train2014 with masks (seeds and pseudo masks are scored on train);
# val: val2014 with masks. Images without any non-crowd object are dropped.
# The augmentation is IRN's, which the COCO runs of IRN's code keep (ReCAM, Chen
# et al., CVPR 2022, step_coco/train_cam of its code): long side 320-640, flip,
# crop 512. Train images smaller than the crop are padded by the model's data
# preprocessor (SegDataPreProcessor(size=crop_size)).
dataset_type = 'WSSSCOCODataset'
data_root = 'data/coco'
crop_size = (512, 512)

train_pipeline = [
    dict(type='LoadImageFromFileChecked'),
    dict(type='LoadImageLevelLabels'),
    # IRN's resize_long(320, 640): keep_ratio with a square scale gives a long
    # side of 512 x [0.625, 1.25] = 320..640; bicubic through PIL, as IRN resizes
    dict(
        type='RandomResize',
        scale=(512, 512),
        ratio_range=(0.625, 1.25),
        keep_ratio=True,
        interpolation='bicubic',
        backend='pillow',
    ),
    dict(type='RandomFlip', prob=0.5),
    # IRN's random crop 512; smaller images are padded by the data preprocessor
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
    # the reference drops the last partial batch (drop_last=True)
    drop_last=True,
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
