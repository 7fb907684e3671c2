# A tiny Mask R-CNN on the embedded FashionPaste benchmark: mmdet's own
# Mask R-CNN (R50-FPN 1x COCO config) with a ResNet-18 of 16 base channels and a
# 32-channel FPN, started from random weights (nothing is downloaded), 300
# iterations of batch 4 on CPU. It proves the instance branch of the pipeline
# (IRN's instance pseudo labels -> Mask R-CNN -> mmdet's COCO bbox / segm AP),
# it is no competitive detector.
#   python tools/train.py configs/mask_rcnn/mask-rcnn_r18-tiny_fpn_1xb4-300it_fashionpaste-160.py
# Standalone it trains on the generator's ground-truth instances
# (annotations/instances_train.json, the fully supervised setting); a pipeline
# stage (TrainTest with train_instances='irn.pseudo_instances') points the train
# ann_file at IRN's merged instance pseudo labels and the val / test ann_file and
# CocoMetric at a CocoGT stage's json (tools/dataset_converters/
# gt_instances_to_coco.py). COCO category ids are the segmentation class indices
# (1..10), named by the classes below.
_base_ = [
    'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py',
    '../_base_/instance_metrics.py',
]

# every mmwsss config imports the plugin; this one uses mmdet's components only
custom_imports = dict(imports=['mmwsss'], allow_failed_imports=False)

data_root = 'data/fashionpaste_demo/'
# mmwsss.datasets.fashionpaste.FASHIONPASTE_CLASSES without background
classes = (
    't-shirt',
    'trouser',
    'pullover',
    'dress',
    'coat',
    'sandal',
    'shirt',
    'sneaker',
    'bag',
    'ankle-boot',
)
image_size = (160, 160)
max_iters = 300

model = dict(
    # random init from scratch: BN trains (norm_eval False), no frozen stage
    backbone=dict(
        depth=18,
        base_channels=16,
        frozen_stages=-1,
        norm_eval=False,
        init_cfg=None,
    ),
    neck=dict(in_channels=[16, 32, 64, 128], out_channels=32),
    rpn_head=dict(in_channels=32, feat_channels=32),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=32),
        bbox_head=dict(in_channels=32, fc_out_channels=64, num_classes=len(classes)),
        mask_roi_extractor=dict(out_channels=32),
        mask_head=dict(in_channels=32, conv_out_channels=32, num_classes=len(classes)),
    ),
    # 160 px images with at most 3 items: fewer proposals and sampled RoIs than
    # COCO's 1333 x 800 images need
    train_cfg=dict(
        rpn_proposal=dict(nms_pre=1000, max_per_img=300),
        rcnn=dict(sampler=dict(num=128)),
    ),
    # keep every detection (up to 20 an image): an undertrained net scores
    # below 0.05, and an empty result list leaves CocoMetric without any AP key
    test_cfg=dict(
        rpn=dict(nms_pre=1000, max_per_img=300),
        rcnn=dict(score_thr=0.0, max_per_img=20),
    ),
)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='Resize', scale=image_size, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=image_size, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'),
    ),
]
train_dataloader = dict(
    batch_size=4,
    # iteration-based: no epoch ends (mmengine pauses 2 s at each)
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        data_root=data_root,
        metainfo=dict(classes=classes),
        ann_file='annotations/instances_train.json',
        data_prefix=dict(img='JPEGImages/'),
        pipeline=train_pipeline,
    ),
)
val_dataloader = dict(
    dataset=dict(
        data_root=data_root,
        metainfo=dict(classes=classes),
        ann_file='annotations/instances_val.json',
        data_prefix=dict(img='JPEGImages/'),
        pipeline=test_pipeline,
    )
)
test_dataloader = val_dataloader
# the COCO and the VOC-style instance metrics (configs/_base_/instance_metrics.py)
# on the val ground truth
val_evaluator = [
    dict(m, ann_file=data_root + 'annotations/instances_val.json')
    for m in _base_.instance_metrics
]
test_evaluator = val_evaluator

# base_batch_size = (1 GPU) x (4 images per GPU): `tools/train.py --auto-scale-lr`
auto_scale_lr = dict(enable=False, base_batch_size=4)
train_cfg = dict(
    _delete_=True, type='IterBasedTrainLoop', max_iters=max_iters, val_interval=100
)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=50),
    dict(
        type='MultiStepLR',
        by_epoch=False,
        begin=0,
        end=max_iters,
        milestones=[200, 270],
        gamma=0.1,
    ),
]
# from scratch at batch 4: SGD 0.02 with clipped gradients
optim_wrapper = dict(clip_grad=dict(max_norm=35, norm_type=2))
default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(by_epoch=False, interval=max_iters),
)
log_processor = dict(by_epoch=False)
env_cfg = dict(dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0)
