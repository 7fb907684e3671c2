# The instance benchmark (BENCHMARKS.md's instance section; `python
# tools/benchmark.py --bench instances` runs it): on the bench-size FashionPaste
# set, instance pseudo labels two ways, WISE (a PRM classifier's peaks, each
# matched to the best selective-search proposal holding it) and IRN's instances,
# scored on train against the ground-truth instances; then Mask R-CNN (mmdet,
# EfficientNet-Lite0 FPN) on each and on the ground-truth instances (the upper
# bound), scored on val.
#   python tools/run_pipeline.py configs/pipelines/instances_effl0_fashionpaste-bench.py
# The work dir is the semantic bench pipeline's: its data, cam, thresholds,
# ir_labels and irn stages (the same names and settings) are shared, not rerun.
# No setting is picked on ground truth: the peaks' threshold is the PRM maps' own
# Otsu background score.
data_root = 'data/fashionpaste_bench'
work_dir = 'work_dirs/pipeline_bench'
cfg_dir = '{{fileDirname}}/..'
mask_rcnn_config = (
    cfg_dir + '/mask_rcnn/mask-rcnn_effl0_fpn_1xb8-1000it_fashionpaste-160.py'
)


def mask_rcnn(name, train_instances):
    """Mask R-CNN on a COCO json of instances, scored on val's ground truth."""
    return dict(
        name=name,
        type='TrainTest',
        config=mask_rcnn_config,
        train_instances=train_instances,
        val_instances='gt_val',
    )


stages = [
    # as in the semantic bench pipeline (shared stages)
    dict(name='data', type='FashionPaste', size='bench', seed=0, source='auto'),
    dict(
        name='cam',
        type='TrainTest',
        config=cfg_dir + '/cam/cam_effl0_1xb16-8e_fashionpaste-160.py',
        validate=True,
    ),
    dict(name='thresholds', type='Thresholds', cams='cam'),
    dict(
        name='ir_labels',
        type='Labels',
        kind='ir',
        cams='cam',
        thresholds='thresholds',
        label_options=dict(fg_thr='auto:fg_thr', bg_thr='auto:bg_thr'),
    ),
    dict(
        name='irn',
        type='TrainTest',
        config=cfg_dir + '/irn/irn_effl0_1xb16-3e_fashionpaste-160.py',
        cams='cam',
        train_labels='ir_labels',
    ),
    # WISE: the PRM classifier fine-tunes the CAM classifier's backbone (image
    # labels only; PRM fine-tunes a pretrained classifier). From ImageNet weights
    # alone, peak stimulation stayed at the label prior's loss for 3 epochs on
    # this set (0.48; the CAM head reaches 0.35), since only peak pixels get
    # gradient; from the CAM backbone it falls to 0.27 within an epoch
    dict(
        name='prm',
        type='TrainTest',
        config=cfg_dir + '/prm/prm_effl0_1xb16-8e_fashionpaste-160.py',
        init_from='cam',
        validate=True,
    ),
    dict(name='prm_thresholds', type='Thresholds', cams='prm'),
    dict(name='proposals', type='Proposals'),
    dict(
        name='wise',
        type='WISE',
        cams='prm',
        proposals='proposals',
        thresholds='prm_thresholds',
        min_score='auto:bg_score',
    ),
    # Mask R-CNN on ground truth, IRN's and WISE's instances
    dict(name='gt_train', type='CocoGT', split='train'),
    dict(name='gt_val', type='CocoGT', split='val'),
    mask_rcnn('maskrcnn_gt', 'gt_train'),
    mask_rcnn('maskrcnn_wise', 'wise.pseudo_instances'),
    mask_rcnn('maskrcnn_irn', 'irn.pseudo_instances'),
]
report = dict(num_samples=4, split='train')
