# UperNet-Swin-T on VOC 2012 train_aug pseudo masks (PtReCl's second final net):
# mmseg's stock UperNet-Swin config (ImageNet-1k Swin-T weights, AdamW, 512 crop)
# with the ADE20K data replaced by VOC: 21 classes, pseudo masks for training
# (PseudoLabelDataset), VOC val ground truth for validation, 40k iterations.
#   python tools/train.py configs/upernet_swin/upernet_swin-t_1xb8-40k_voc12aug-512x512_pseudo.py \
#       --cfg-options train_dataloader.dataset.pseudo_dir=PSEUDO_LABEL_DIR
_base_ = [
    'mmseg::swin/swin-tiny-patch4-window7-in1k-pre_upernet_8xb2-160k_ade20k-512x512.py'
]
custom_imports = dict(imports=['mmwsss'], allow_failed_imports=False)
default_scope = 'mmwsss'  # mmseg's components and mmwsss's PseudoLabelDataset
data_root = 'data/VOCdevkit/VOC2012'
pseudo_dir = 'work_dirs/irn_r50_1xb32-3e_voc12aug-512/pseudo_labels'
crop_size = (512, 512)
max_iters = 40000

model = dict(
    data_preprocessor=dict(size=crop_size),
    decode_head=dict(num_classes=21),
    auxiliary_head=dict(num_classes=21),
)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    # checks each mask's size and values (VOC: 21 classes, 255 ignore)
    dict(type='LoadAnnotationsChecked', num_classes=21),
    dict(
        type='RandomResize', scale=(2048, 512), ratio_range=(0.5, 2.0), keep_ratio=True
    ),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(2048, 512), keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=8,
    dataset=dict(
        _delete_=True,
        type='PseudoLabelDataset',
        pseudo_dir=pseudo_dir,
        dataset=dict(
            type='PascalVOCDataset',
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
    dataset=dict(
        _delete_=True,
        type='PascalVOCDataset',
        data_root=data_root,
        ann_file='ImageSets/Segmentation/val.txt',
        data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClass'),
        pipeline=test_pipeline,
    )
)
test_dataloader = val_dataloader
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(
        type='PolyLR', eta_min=0.0, power=1.0, begin=1500, end=max_iters, by_epoch=False
    ),
]
# base_batch_size = (1 GPU) x (8 images per GPU): `tools/train.py --auto-scale-lr`
auto_scale_lr = dict(enable=False, base_batch_size=8)
train_cfg = dict(max_iters=max_iters, val_interval=4000)
default_hooks = dict(checkpoint=dict(interval=4000))
