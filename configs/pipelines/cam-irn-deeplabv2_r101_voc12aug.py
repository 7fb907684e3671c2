# The paper setting on PASCAL VOC 2012 (IRN, Ahn et al. 2019, then DeepLabV2):
# CAM (ResNet-50) seeds for train_aug -> IR labels (fg 0.30 / bg 0.05 + CRF) ->
# IRN (ResNet-50) pseudo masks for train_aug -> DeepLabV2-ResNet101 on them,
# validated on VOC val. Prepare VOC + SBD first (README); needs a GPU.
#   python tools/run_pipeline.py configs/pipelines/cam-irn-deeplabv2_r101_voc12aug.py
# Seeds and pseudo masks are scored on train_aug (its SBD masks) here; the
# protocol's train-1464 numbers come from tools/refine_seeds.py --score or
# tools/test.py with the CAM / IRN configs' own test split.
data_root = 'data/VOCdevkit/VOC2012'
work_dir = 'work_dirs/pipeline_voc12aug'
train_aug = dict(
    ann_file='ImageSets/Segmentation/train_aug.txt',
    data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClassAug'),
)
stages = [
    dict(
        name='cam',
        type='TrainTest',
        config='{{fileDirname}}/../cam/cam_r50_1xb16-5e_voc12aug-512.py',
        validate=True,
        cfg_options={'test_dataloader.dataset.' + k: v for k, v in train_aug.items()},
    ),
    # ground-truth-free thresholds from the CAMs (mmwsss/ops/thresholds.py); the
    # published IR-label values (fg 0.30 / bg 0.05) were tuned on VOC's ground
    # truth: set label_options=dict(fg_thr=0.30, bg_thr=0.05) to reproduce them
    dict(name='thresholds', type='Thresholds', cams='cam', split='train_aug'),
    dict(
        name='ir_labels',
        type='Labels',
        kind='ir',
        cams='cam',
        split='train_aug',
        gt_dir='SegmentationClassAug',
        thresholds='thresholds',
        label_options=dict(fg_thr='auto:fg_thr', bg_thr='auto:bg_thr'),
    ),
    dict(
        name='irn',
        type='TrainTest',
        config='{{fileDirname}}/../irn/irn_r50_1xb32-3e_voc12aug-512.py',
        cams='cam',
        train_labels='ir_labels',
        cfg_options={'test_dataloader.dataset.' + k: v for k, v in train_aug.items()},
    ),
    # IRN's walked scores cut at their own ground-truth-free background score
    # (IRN's published 0.25 is the irn stage's own pseudo_labels output)
    dict(
        name='irn_labels',
        type='Labels',
        kind='cam',
        cams='irn.walk_scores',
        split='train_aug',
        gt_dir='SegmentationClassAug',
        label_options=dict(bg_score='auto:bg_score'),
    ),
    dict(
        name='deeplabv2',
        type='TrainTest',
        config='{{fileDirname}}/../deeplabv2/deeplabv2_r101-d8_1xb10-20k_voc12aug-321.py',
        train_labels='irn_labels',
    ),
]
report = dict(num_samples=4, split='train')
