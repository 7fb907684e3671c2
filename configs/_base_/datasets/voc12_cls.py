# PASCAL VOC 2012 for classifier training: train_aug (10582 images, image-level
# labels from cls_labels.json written by tools/dataset_converters/voc_aug.py).
# test: VOC train (1464, pixel GT) at original size, the split on which seeds
# and pseudo masks are scored; val: VOC val (1449).
# Train images smaller than the crop are padded by the model's data
# preprocessor (SegDataPreProcessor(size=crop_size)).
dataset_type = 'WSSSVOCDataset'
data_root = 'data/VOCdevkit/VOC2012'
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
    # (after normalisation, with 0: the mean colour, as IRN pads)
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
        ann_file='ImageSets/Segmentation/train_aug.txt',
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
