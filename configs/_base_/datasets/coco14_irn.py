# COCO 2014 for IRNet: train on the IR labels of train2014 (PNG, 0 background,
# classes 1-80, 255 unsure; the CAM export and IR labels must cover the
# train2014 images with an object), test on train2014 with its CAMs (LoadCAMs)
# and the masks of tools/dataset_converters/coco_wsss.py: the exported pseudo
# masks are scored against them. The augmentation is IRN's, which the COCO runs
# of IRN's code keep (ReCAM, Chen et al., CVPR 2022, step_coco/train_irn of its
# code): rescale 0.5-1.5, flip, crop 512.
# cam_dir / ir_label_dir default to the COCO CAM config's work dir; the algorithm
# configs set them again at their top (see there how to override them).
# '{{fileDirname}}' makes them absolute: mmengine joins a relative seg_map_path
# with data_root. Train images smaller than the crop are padded by the model's
# data preprocessor (SegDataPreProcessor(size=crop_size), label 255).
dataset_type = 'WSSSCOCODataset'
data_root = 'data/coco'
crop_size = (512, 512)
cam_dir = '{{fileDirname}}/../../../work_dirs/cam_r50_1xb16-5e_coco14-512/cams'
ir_label_dir = (
    '{{fileDirname}}/../../../work_dirs/cam_r50_1xb16-5e_coco14-512/ir_labels'
)

train_pipeline = [
    dict(type='LoadImageFromFileChecked'),
    # checks each mask's size and values (COCO: 81 classes, 255 ignore)
    dict(type='LoadAnnotationsChecked', num_classes=81),
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
        ann_file='annotations/instances_train2014.json',
        data_prefix=dict(img_path='train2014', seg_map_path=ir_label_dir),
        filter_empty=True,
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
        ann_file='annotations/instances_train2014.json',
        data_prefix=dict(
            img_path='train2014', seg_map_path='wsss/train2014/SegmentationClass'
        ),
        filter_empty=True,
        pipeline=test_pipeline,
    ),
)
