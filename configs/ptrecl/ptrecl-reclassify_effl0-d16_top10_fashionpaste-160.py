# PtReCl's reclassification on the embedded FashionPaste benchmark: each train
# pixel's recovery-net feature against its image classes' 20 foreground and 20
# background prototypes; the share of foreground prototypes among its m = 10 most
# similar (PtReCl: m in 10-20) is the class's score, written in the CAM seed format
# ({work_dir}/reclass_maps) for IRN's walk, and scored (background where no class
# has a majority of the votes) against the train ground truth.
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
    test_cfg=dict(bg_score=0.5, strided_stride=4),
)
test_cfg = dict(
    type='ExportTestLoop',
    exporter=dict(type='CAMExporter', out_dir='{work_dir}/reclass_maps'),
)
test_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
