# PtReCl's prototypes on the embedded FashionPaste benchmark: the recovery net's
# backbone features (its decode head's input: 1280 channels at stride 16) of the
# train images, split by the recovery net's own masks (the recovery config's
# test output, recovered_labels: the masks it exists to reconstruct; IRN's masks
# are the comparison) into each class's foreground and background cells (a cell
# takes the label of more than half of its 16 x 16 pixels; mixed cells are left
# out), sampled into bounded reservoirs (4096 features per class and side,
# whatever the dataset size), then cosine (spherical) K-means: K = 20 foreground
# and 20 background prototypes per class (PtReCl's K) with their cluster sizes
# (the weights of their votes), in {work_dir}/prototypes/prototypes.pth.
#   python tools/test.py configs/ptrecl/ptrecl-prototypes_effl0-d16_fashionpaste-160.py \
#       RECOVERY_CHECKPOINT --cfg-options test_dataloader.dataset.pseudo_dir=RECOVERED_LABEL_DIR
_base_ = ['./ptrecl-recovery_effl0-d16_1xb8-1000it_fashionpaste-160.py']

pseudo_dir = (
    '{{fileDirname}}/../../work_dirs/'
    'ptrecl-recovery_effl0-d16_1xb8-1000it_fashionpaste-160/recovered_labels'
)
model = dict(backbone=dict(init_cfg=None))  # the recovery net's checkpoint
test_dataloader = dict(
    # each image once, also under DDP (no padding of the ranks' shards, which
    # would count a few images twice)
    sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
    batch_size=8,
    dataset=dict(
        _delete_=True,
        type='PseudoLabelDataset',
        pseudo_dir=pseudo_dir,
        # times > 1 streams the train set repeatedly (the bounded-memory check)
        dataset=dict(
            type='RepeatDataset',
            times=1,
            dataset=dict(
                type='FashionPasteDataset',
                data_root='data/fashionpaste_demo',
                ann_file='ImageSets/Segmentation/train.txt',
                label_file='cls_labels.json',
                data_prefix=dict(
                    img_path='JPEGImages', seg_map_path='SegmentationClass'
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
# the loop scores nothing (the prototypes are scored through the reclassification)
test_evaluator = dict(_delete_=True, type='Evaluator', metrics=[])
