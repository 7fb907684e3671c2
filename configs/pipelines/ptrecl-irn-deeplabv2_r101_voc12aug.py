# PtReCl on PASCAL VOC 2012 (train_aug labels, val ground truth): CAM seeds ->
# IR labels -> IRN -> label-conditioned recovery net on IRN's masks -> K = 20
# fg / bg prototypes per class -> top-10 reclassification -> IRN's walk again
# (IRN's checkpoint) on the reclassification maps -> PtReCl pseudo masks ->
# DeepLabV2 (ResNet-101) and UperNet-Swin-T.
#   python tools/run_pipeline.py configs/pipelines/ptrecl-irn-deeplabv2_r101_voc12aug.py
# Every threshold is ground-truth-free (the Thresholds stage and Otsu cuts of the
# walked scores, mmwsss/ops/thresholds.py). Needs the VOC layout of
# tools/dataset_converters/voc_aug.py (train_aug, SegmentationClassAug, cls_labels).
data_root = 'data/VOCdevkit/VOC2012'
work_dir = 'work_dirs/pipeline_ptrecl_voc12aug'
cfg_dir = '{{fileDirname}}/..'
irn_config = cfg_dir + '/irn/irn_r50_1xb32-3e_voc12aug-512.py'
train_aug = {
    'test_dataloader.dataset.ann_file': 'ImageSets/Segmentation/train_aug.txt',
    'test_dataloader.dataset.data_prefix': dict(
        img_path='JPEGImages', seg_map_path='SegmentationClassAug'
    ),
}
on_train_aug = dict(split='train_aug', gt_dir='SegmentationClassAug')

stages = [
    dict(
        name='cam',
        type='TrainTest',
        config=cfg_dir + '/cam/cam_r50_1xb16-5e_voc12aug-512.py',
        validate=True,
        cfg_options=train_aug,
    ),
    dict(name='thresholds', type='Thresholds', cams='cam', split='train_aug'),
    dict(
        name='ir_labels',
        type='Labels',
        kind='ir',
        cams='cam',
        thresholds='thresholds',
        label_options=dict(fg_thr='auto:fg_thr', bg_thr='auto:bg_thr'),
        **on_train_aug,
    ),
    dict(
        name='irn',
        type='TrainTest',
        config=irn_config,
        cams='cam',
        train_labels='ir_labels',
        cfg_options=train_aug,
    ),
    dict(
        name='irn_labels',
        type='Labels',
        kind='cam',
        cams='irn.walk_scores',
        label_options=dict(bg_score='auto:bg_score'),
        **on_train_aug,
    ),
    dict(
        name='recovery',
        type='TrainTest',
        config=cfg_dir + '/ptrecl/ptrecl-recovery_r101-d8_1xb10-20k_voc12aug-321.py',
        train_labels='irn_labels',
    ),
    dict(
        name='prototypes',
        type='Predict',
        config=cfg_dir + '/ptrecl/ptrecl-prototypes_r101-d8_voc12aug-321.py',
        checkpoint='recovery',
        test_labels='recovery.recovered_labels',
    ),
    dict(
        name='reclassify',
        type='Predict',
        config=cfg_dir + '/ptrecl/ptrecl-reclassify_r101-d8_top10_voc12aug-321.py',
        checkpoint='recovery',
        prototypes='prototypes',
    ),
    dict(
        name='irn_ptrecl',
        type='Predict',
        config=irn_config,
        checkpoint='irn',
        cams='reclassify',
        cfg_options=train_aug,
    ),
    dict(
        name='ptrecl_labels',
        type='Labels',
        kind='cam',
        cams='irn_ptrecl.walk_scores',
        label_options=dict(bg_score='auto:bg_score'),
        **on_train_aug,
    ),
    dict(
        name='deeplabv2',
        type='TrainTest',
        config=cfg_dir + '/deeplabv2/deeplabv2_r101-d8_1xb10-20k_voc12aug-321.py',
        train_labels='ptrecl_labels',
    ),
    dict(
        name='upernet_swin',
        type='TrainTest',
        config=cfg_dir
        + '/upernet_swin/upernet_swin-t_1xb8-40k_voc12aug-512x512_pseudo.py',
        train_labels='ptrecl_labels',
    ),
]
report = dict(num_samples=4, split='train')
