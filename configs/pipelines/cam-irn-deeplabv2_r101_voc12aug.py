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
    dict(
        name='ir_labels',
        type='Labels',
        kind='ir',
        cams='cam',
        split='train_aug',
        gt_dir='SegmentationClassAug',
    ),
    dict(
        name='irn',
        type='TrainTest',
        config='{{fileDirname}}/../irn/irn_r50_1xb32-3e_voc12aug-512.py',
        cams='cam',
        train_labels='ir_labels',
        cfg_options={'test_dataloader.dataset.' + k: v for k, v in train_aug.items()},
    ),
    dict(
        name='deeplabv2',
        type='TrainTest',
        config='{{fileDirname}}/../deeplabv2/deeplabv2_r101-d8_1xb10-20k_voc12aug-321.py',
        train_labels='irn',
    ),
]
report = dict(num_samples=4, split='train')
