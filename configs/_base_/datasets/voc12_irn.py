# PASCAL VOC 2012 for IRNet: train on the IR labels of train_aug (PNG, 0
# background, classes, 255 unsure; the CAM export and IR labels must cover
# train_aug), test on VOC train (1464, pixel GT) with its CAMs (LoadCAMs): the
# exported pseudo masks are scored against the GT (published IRN: 66.5 mIoU).
# cam_dir / ir_label_dir default to the VOC CAM config's work dir; the algorithm
# configs set them again at their top (see there how to override them).
# '{{fileDirname}}' makes them absolute: mmengine joins a relative seg_map_path
# with data_root. Train images smaller than the crop are padded by the model's
# data preprocessor (SegDataPreProcessor(size=crop_size), label 255).
dataset_type = 'WSSSVOCDataset'
data_root = 'data/VOCdevkit/VOC2012'
crop_size = (512, 512)
cam_dir = '{{fileDirname}}/../../../work_dirs/cam_r50_1xb16-5e_voc12aug-512/cams'
ir_label_dir = (
    '{{fileDirname}}/../../../work_dirs/cam_r50_1xb16-5e_voc12aug-512/ir_labels'
)

train_pipeline = [
    dict(type='LoadImageFromFileChecked'),
    # checks each mask's size and values (VOC: 21 classes, 255 ignore)
    dict(type='LoadAnnotationsChecked', num_classes=21),
    # IRN's random_scale: the image (bicubic, through PIL) and its labels
    # (nearest) rescaled by a factor of 0.5-1.5 of their own size
    dict(
        type='RandomRescale',
        ratio_range=(0.5, 1.5),
        interpolation='bicubic',
        backend='pillow',
    ),
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
    batch_size=32,
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
