# PtReCl's prototypes on PASCAL VOC 2012 train_aug: the recovery net's ResNet-101
# features (layer4, the ASPP head's input: 2048 channels at stride 8) split by
# the recovery net's own masks (recovered_labels; a cell takes the label of more
# than half of its pixels), 4096 sampled features per class and side (bounded
# memory), cosine (spherical) K-means into K = 20 foreground and 20 background
# prototypes per class, with their cluster sizes.
#   python tools/test.py configs/ptrecl/ptrecl-prototypes_r101-d8_voc12aug-321.py \
#       RECOVERY_CHECKPOINT --cfg-options test_dataloader.dataset.pseudo_dir=RECOVERED_LABEL_DIR
_base_ = ['./ptrecl-recovery_r101-d8_1xb10-20k_voc12aug-321.py']

model = dict(pretrained=None)  # the recovery net's checkpoint
test_dataloader = dict(
    # each image once, also under DDP (no padding of the ranks' shards, which
    # would count a few images twice)
    sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
    batch_size=1,  # VOC's images differ in size
    dataset=dict(
        _delete_=True,
        type='PseudoLabelDataset',
        pseudo_dir=(
            'work_dirs/ptrecl-recovery_r101-d8_1xb10-20k_voc12aug-321/recovered_labels'
        ),
        dataset=dict(
            type='RepeatDataset',
            times=1,
            dataset=dict(
                type='WSSSVOCDataset',
                data_root='data/VOCdevkit/VOC2012',
                label_file='cls_labels.json',
                ann_file='ImageSets/Segmentation/train_aug.txt',
                data_prefix=dict(
                    img_path='JPEGImages', seg_map_path='SegmentationClassAug'
                ),
                pipeline={{_base_.test_pipeline}},
            ),
        ),
    ),
)
test_cfg = dict(
    _delete_=True,
    type='PrototypeLoop',
    out_dir='{work_dir}/prototypes',
    num_prototypes=20,
    capacity=4096,
    seed=0,
    grid_labels='majority',
)
test_evaluator = dict(_delete_=True, type='Evaluator', metrics=[])
