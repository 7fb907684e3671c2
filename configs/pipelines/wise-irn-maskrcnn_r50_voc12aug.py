# Instance segmentation from image labels on PASCAL VOC 2012 (train_aug labels,
# val ground truth): WISE (a PRM classifier's peaks, each matched to the best
# class-agnostic proposal that holds it) and IRN's instances (CAM -> IR labels ->
# IRN), then Mask R-CNN R-50-FPN (mmdet) on each, scored by mmdet's CocoMetric on
# val (mask AP50: WISE 41.7, IRN 46.7 published).
#   python tools/run_pipeline.py configs/pipelines/wise-irn-maskrcnn_r50_voc12aug.py
# The proposals are selective search on the CPU (seconds an image at VOC's size);
# precomputed ones (MCG, COB: one JSON per image, see mmwsss/pipeline/wise.py)
# are used with stage_options=dict(proposals=dict(source='DIR')). Every threshold
# is ground-truth-free (Otsu of the maps, mmwsss/ops/thresholds.py).
data_root = 'data/VOCdevkit/VOC2012'
work_dir = 'work_dirs/pipeline_wise_voc12aug'
cfg_dir = '{{fileDirname}}/..'
mask_rcnn_config = cfg_dir + '/mask_rcnn/mask-rcnn_r50_fpn_1xb8-12e_voc12aug.py'
train_aug = {
    'test_dataloader.dataset.ann_file': 'ImageSets/Segmentation/train_aug.txt',
    'test_dataloader.dataset.data_prefix': dict(
        img_path='JPEGImages', seg_map_path='SegmentationClassAug'
    ),
}
# IRN's instance pseudo labels besides its masks and walked scores
irn_exports = {
    'model.test_cfg.instance': True,
    'test_cfg.exporter.exporters': [
        dict(type='LabelPNGExporter', out_dir='{work_dir}/pseudo_labels'),
        dict(type='InstanceExporter', out_dir='{work_dir}/pseudo_instances'),
        dict(type='ScoreMapExporter', out_dir='{work_dir}/walk_scores'),
    ],
}


def mask_rcnn(name, train_instances):
    return dict(
        name=name,
        type='DetTrainTest',
        config=mask_rcnn_config,
        train_instances=train_instances,
        val_instances='gt_val',
    )


stages = [
    # WISE
    dict(
        name='prm',
        type='TrainTest',
        config=cfg_dir + '/prm/prm_r50_1xb16-20e_voc12-448.py',
        validate=True,
        cfg_options=train_aug,
    ),
    dict(name='prm_thresholds', type='Thresholds', cams='prm', split='train_aug'),
    dict(name='proposals', type='Proposals', split='train_aug'),
    dict(
        name='wise',
        type='WISE',
        cams='prm',
        proposals='proposals',
        split='train_aug',
        thresholds='prm_thresholds',
        min_score='auto:bg_score',
        gt_instances=False,  # train_aug has no instance ground truth
    ),
    # IRN's instances
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
        split='train_aug',
        gt_dir='SegmentationClassAug',
        thresholds='thresholds',
        label_options=dict(fg_thr='auto:fg_thr', bg_thr='auto:bg_thr'),
    ),
    dict(
        name='irn',
        type='TrainTest',
        config=cfg_dir + '/irn/irn_r50_1xb32-3e_voc12aug-512.py',
        cams='cam',
        train_labels='ir_labels',
        cfg_options={**train_aug, **irn_exports},
    ),
    # Mask R-CNN on each, scored on val's ground-truth instances
    dict(name='gt_val', type='CocoGT', split='val'),
    mask_rcnn('maskrcnn_wise', 'wise.pseudo_instances'),
    mask_rcnn('maskrcnn_irn', 'irn.pseudo_instances'),
]
report = dict(num_samples=4, split='train')
