# PtReCl's reclassification on the embedded FashionPaste benchmark: each train
# image's recovery-net features (the prototype stage's) against its classes' 20
# foreground and 20 background prototypes; among a cell's m = 10 most similar
# (PtReCl: m in 10-20) the foreground prototypes' share of the votes, each vote
# weighted by its cluster's share of its side (vote_weight='size'; 'uniform': one
# vote each), is the class's score, placed at the cell's centre. A pixel goes to
# the class with a majority (the reclassification map, scored against the train
# ground truth), else to background; that map, one 0 / 1 map per class
# (score_map='decision'; 'margin' and 'share' are the alternatives), is written in
# the CAM seed format ({work_dir}/reclass_maps) for IRN's walk.
#   python tools/test.py configs/ptrecl/ptrecl-reclassify_effl0-d16_top10_fashionpaste-160.py \
#       RECOVERY_CHECKPOINT --cfg-options model.prototypes=PROTOTYPE_DIR
_base_ = ['./ptrecl-recovery_effl0-d16_1xb8-1000it_fashionpaste-160.py']

prototypes = '{{fileDirname}}/../../work_dirs/ptrecl_prototypes/prototypes'
model = dict(
    _delete_=True,
    type='PrototypeReclassifier',
    data_preprocessor={{_base_.model.data_preprocessor}},
    # the recovery net's backbone, its weights from the recovery net's checkpoint
    backbone=dict(
        type='EfficientNetLite',
        out_indices=(4,),
        output_stride=16,
        frozen_stages=1,
        norm_eval=True,
        pretrained=False,
    ),
    prototypes=prototypes,
    top_m=10,
    in_index=0,
    vote_weight='size',
    score_map='decision',
    test_cfg=dict(bg_score=0.5, strided_stride=4),
)
test_cfg = dict(
    type='ExportTestLoop',
    exporter=dict(type='CAMExporter', out_dir='{work_dir}/reclass_maps'),
)
test_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU', 'mFscore'])
