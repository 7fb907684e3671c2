# PtReCl's reclassification on PASCAL VOC 2012 train_aug: each cell's recovery-net
# feature (layer4) against its image classes' 20 foreground / 20 background
# prototypes; the foreground share of the size-weighted votes of its m = 10 most
# similar is the class's score; the reclassification map (majority, else
# background), one 0 / 1 map per class, is written in the CAM seed format
# ({work_dir}/reclass_maps) for IRN's walk.
#   python tools/test.py configs/ptrecl/ptrecl-reclassify_r101-d8_top10_voc12aug-321.py \
#       RECOVERY_CHECKPOINT --cfg-options model.prototypes=PROTOTYPE_DIR
_base_ = ['./ptrecl-recovery_r101-d8_1xb10-20k_voc12aug-321.py']

model = dict(
    _delete_=True,
    type='PrototypeReclassifier',
    data_preprocessor={{_base_.model.data_preprocessor}},
    backbone={{_base_.model.backbone}},
    prototypes='work_dirs/ptrecl_prototypes/prototypes',
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
test_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
