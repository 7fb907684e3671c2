# PASCAL VOC 2012 for the final segmentation net of WSSS: train_aug (10582 images)
# on pseudo masks, validation on VOC val ground truth. Masks and the split list come
# from tools/dataset_converters/voc_aug.py (SegmentationClassAug/, train_aug.txt);
# pseudo_dir is the pseudo-label folder of a refinement stage (IRN, PtReCl, ...).
# Mix in ground truth with gt_fraction / gt_ids of PseudoLabelDataset.
dataset_type = 'PascalVOCDataset'
data_root = 'data/VOCdevkit/VOC2012'
pseudo_dir = 'work_dirs/irn_r50_1xb32-3e_voc12aug-512/pseudo_labels'
crop_size = (321, 321)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    # checks each mask's size and values (VOC: 21 classes, 255 ignore)
    dict(type='LoadAnnotationsChecked', num_classes=21),
    # DeepLab's scale augmentation: the image and its mask rescaled by a factor
    # of 0.5-1.5 of their own size (a 500 px long side becomes 250-750 px), then
    # a 321 crop; smaller crops are padded by the data preprocessor (the mean
    # colour, 255 ignore), as DeepLab pads
    dict(type='RandomRescale', ratio_range=(0.5, 1.5)),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
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
            ann_file='ImageSets/Segmentation/train_aug.txt',
            data_prefix=dict(
                img_path='JPEGImages', seg_map_path='SegmentationClassAug'
            ),
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
        ann_file='ImageSets/Segmentation/val.txt',
        data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClass'),
        pipeline=test_pipeline,
    ),
)
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator

# DeepLabV2's test: multi-scale + flip, then the dense CRF (tools/test.py --tta)
img_ratios = [0.5, 0.75, 1.0, 1.25, 1.5]
tta_pipeline = [
    dict(type='LoadImageFromFile'),
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
