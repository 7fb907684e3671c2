# COCO 2014 for the final segmentation net of WSSS: the train2014 images with an
# object on pseudo masks, validation on the val2014 images with an object
# (ground truth; 81 classes, background included). Masks come from
# tools/dataset_converters/coco_wsss.py (wsss/{split}/SegmentationClass);
# pseudo_dir is the pseudo-label folder of a refinement stage (IRN, ...), one
# PNG per train2014 image with an object. Mix in ground truth with gt_fraction /
# gt_ids of PseudoLabelDataset.
dataset_type = 'WSSSCOCODataset'
data_root = 'data/coco'
pseudo_dir = 'work_dirs/irn_r50_1xb32-3e_coco14-512/pseudo_labels'
crop_size = (321, 321)

train_pipeline = [
    dict(type='LoadImageFromFileChecked'),
    # checks each mask's size and values (COCO: 81 classes, 255 ignore)
    dict(type='LoadAnnotationsChecked', num_classes=81),
    # DeepLab's scale augmentation: the image and its mask rescaled by a factor
    # of 0.5-1.5 of their own size, then a 321 crop; smaller crops are padded by
    # the data preprocessor (the mean colour, 255 ignore), as DeepLab pads
    dict(type='RandomRescale', ratio_range=(0.5, 1.5)),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFileChecked'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=10,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='PseudoLabelDataset',
        pseudo_dir=pseudo_dir,
        dataset=dict(
            type=dataset_type,
            data_root=data_root,
            ann_file='annotations/instances_train2014.json',
            data_prefix=dict(
                img_path='train2014', seg_map_path='wsss/train2014/SegmentationClass'
            ),
            filter_empty=True,
            pipeline=train_pipeline,
        ),
    ),
)
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
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
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator

# DeepLabV2's test: multi-scale + flip, then the dense CRF (tools/test.py --tta)
img_ratios = [0.5, 0.75, 1.0, 1.25, 1.5]
tta_pipeline = [
    dict(type='LoadImageFromFileChecked'),
    dict(
        type='TestTimeAug',
        transforms=[
            [dict(type='Resize', scale_factor=r, keep_ratio=True) for r in img_ratios],
            [
                dict(type='RandomFlip', prob=0.0, direction='horizontal'),
                dict(type='RandomFlip', prob=1.0, direction='horizontal'),
            ],
            [dict(type='LoadAnnotations')],
            [dict(type='PackSegInputs')],
        ],
    ),
]
