# The benchmark pipeline (every row of BENCHMARKS.md; `python tools/benchmark.py`
# runs it and renders the table): on the bench-size FashionPaste set (2000 train /
# 500 val images), CAM seeds; ground-truth-free thresholds from the CAMs; CAM,
# CAM + CRF, IR and PSA labels; IRN and AffinityNet; IRN's walked scores cut by
# their own ground-truth-free background score, with and without CRF; PtReCl
# (recovery net, prototypes, reclassification, IRN's walk again; its K / m
# ablations and the prototype stage's memory at twice the images); DeepLabV2
# on each kind of pseudo mask, on the pixels where two of them agree (the rest
# ignored) and on ground truth (the upper bound, also run twice as long to show
# it converged); one round of self-training; every DeepLabV2 also tested as
# DeepLab evaluates (multi-scale + flip + CRF); the pseudo masks' outline
# quality side by side; the random-walk timing. About 4 hours on 2 CPU cores.
# The instance and seed benchmarks are pipelines of their own in the same work
# dir (instances_effl0_fashionpaste-bench.py, seeds_effl0_fashionpaste-bench.py):
# stages of the same name and settings (data, cam, irn, ...) are shared.
#   python tools/run_pipeline.py configs/pipelines/cam-irn-deeplabv2_effl0_fashionpaste-bench.py
# No setting below is picked on ground truth: 'auto:KEY' values come from the
# Thresholds stage's rule (mmwsss/ops/thresholds.py: Otsu / multi-Otsu of the
# pooled per-pixel max class score). The one exception is the stage named
# crf_labels_oracle, the oracle column: CAM + CRF at the seed sweep's best
# background score ('oracle:cam:seed/best_bg_score').
data_root = 'data/fashionpaste_bench'
work_dir = 'work_dirs/pipeline_bench'
cfg_dir = '{{fileDirname}}/..'
cam_config = cfg_dir + '/cam/cam_effl0_1xb16-8e_fashionpaste-160.py'
irn_config = cfg_dir + '/irn/irn_effl0_1xb16-3e_fashionpaste-160.py'
affinity_config = cfg_dir + '/affinitynet/affinitynet_effl0_1xb8-3e_fashionpaste-160.py'
deeplab_config = (
    cfg_dir + '/deeplabv2/deeplabv2_effl0-d16_1xb8-2000it_fashionpaste-160.py'
)
deeplab_gt_config = (
    cfg_dir + '/deeplabv2/deeplabv2_effl0-d16_1xb8-2000it_fashionpaste-160_gt.py'
)
deeplab_predict_config = (
    cfg_dir + '/deeplabv2/deeplabv2_effl0-d16_predict-train_fashionpaste-160.py'
)
deeplab_gt_2x_config = (
    cfg_dir + '/deeplabv2/deeplabv2_effl0-d16_1xb8-4000it_fashionpaste-160_gt.py'
)
ptrecl_dir = cfg_dir + '/ptrecl'
recovery_config = (
    ptrecl_dir + '/ptrecl-recovery_effl0-d16_1xb8-1000it_fashionpaste-160.py'
)
prototype_config = ptrecl_dir + '/ptrecl-prototypes_effl0-d16_fashionpaste-160.py'
reclassify_config = (
    ptrecl_dir + '/ptrecl-reclassify_effl0-d16_top10_fashionpaste-160.py'
)


def deeplab(name, train_labels=None, config=deeplab_config, curve=False):
    """DeepLabV2 with its backbone started from the CAM classifier's weights."""
    stage = dict(name=name, type='TrainTest', config=config, init_from='cam')
    if train_labels is not None:
        stage['train_labels'] = train_labels
    if curve:
        stage['val_interval'] = 500  # iterations: 4 points, 8 for the 2x run
    return stage


def tta(name, config=deeplab_config):
    """DeepLabV2 stage ``name``'s checkpoint tested as DeepLab evaluates:
    scales 0.75 / 1 / 1.25 with flips, probabilities averaged, dense CRF
    (DeepLab's test preset) on them."""
    return dict(
        name=f'{name}_tta', type='Predict', config=config, checkpoint=name, tta=True
    )


def prototypes(name, k=20, repeat=1, level=None):
    """PtReCl's prototypes (K per class and side) of the recovery net's
    features, split by IRN's masks; ``repeat`` > 1 streams the train set that
    many times (the memory check: bounded whatever the dataset size);
    ``level``: another backbone level's features (default: the head conv's)."""
    options = {'test_cfg.num_prototypes': k}
    if repeat != 1:
        options['test_dataloader.dataset.dataset.times'] = repeat
    if level is not None:
        options['model.backbone.out_indices'] = (level,)
    return dict(
        name=name,
        type='Predict',
        config=prototype_config,
        checkpoint='recovery',
        test_labels='irn_labels',
        cfg_options=options,
    )


def reclassify(name, protos='prototypes', top_m=10, level=None):
    """PtReCl's reclassification maps (CAM seed format) by the top-m votes
    (``level``: as the prototypes')."""
    options = {'model.top_m': top_m}
    if level is not None:
        options['model.backbone.out_indices'] = (level,)
    return dict(
        name=name,
        type='Predict',
        config=reclassify_config,
        checkpoint='recovery',
        prototypes=protos,
        cfg_options=options,
    )


stages = [
    dict(name='data', type='FashionPaste', size='bench', seed=0, source='auto'),
    dict(name='cam', type='TrainTest', config=cam_config, validate=True),
    dict(name='thresholds', type='Thresholds', cams='cam'),
    dict(
        name='cam_labels',
        type='Labels',
        kind='cam',
        cams='cam',
        thresholds='thresholds',
        label_options=dict(bg_score='auto:bg_score'),
    ),
    dict(
        name='crf_labels',
        type='Labels',
        kind='crf',
        cams='cam',
        thresholds='thresholds',
        label_options=dict(bg_score='auto:bg_score'),
    ),
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
        config=irn_config,
        cams='cam',
        train_labels='ir_labels',
    ),
    # IRN's walked scores, cut at their own ground-truth-free background score
    dict(
        name='irn_labels',
        type='Labels',
        kind='cam',
        cams='irn.walk_scores',
        label_options=dict(bg_score='auto:bg_score'),
    ),
    dict(
        name='irn_crf_labels',
        type='Labels',
        kind='crf',
        cams='irn.walk_scores',
        label_options=dict(bg_score='auto:bg_score'),
    ),
    # the oracle column: CAM + CRF at the background score a sweep against the
    # train split's ground truth picks (a user without ground truth cannot)
    dict(
        name='crf_labels_oracle',
        type='Labels',
        kind='crf',
        cams='cam',
        label_options=dict(bg_score='oracle:cam:seed/best_bg_score'),
    ),
    # pixels where two refinements of a different nature (IRN's walk, the colour
    # CRF on the CAMs) agree; 255 (ignored by DeepLabV2's loss) where they differ
    dict(
        name='irn_crf_consensus',
        type='Consensus',
        labels=['irn_labels', 'crf_labels'],
    ),
    # the same with IRN's CRF-refined masks (both with the CRF's outlines)
    dict(
        name='crf_consensus',
        type='Consensus',
        labels=['irn_crf_labels', 'crf_labels'],
    ),
    # PtReCl: a label-conditioned recovery net trained on IRN's masks (its
    # backbone from the CAM classifier), K = 20 fg / bg prototypes per class of
    # its features, each pixel reclassified by its top-10 prototypes' votes, IRN's
    # walk (IRN's checkpoint) on the reclassification maps, cut by Otsu
    dict(
        name='recovery',
        type='TrainTest',
        config=recovery_config,
        train_labels='irn_labels',
        init_from='cam',
    ),
    prototypes('prototypes'),
    # the prototype stage's memory when the train set is streamed twice
    prototypes('prototypes_2x', repeat=2),
    reclassify('reclassify'),
    dict(
        name='irn_ptrecl',
        type='Predict',
        config=irn_config,
        checkpoint='irn',
        cams='reclassify',
    ),
    dict(
        name='ptrecl_labels',
        type='Labels',
        kind='cam',
        cams='irn_ptrecl.walk_scores',
        label_options=dict(bg_score='auto:bg_score'),
    ),
    # PtReCl's ablations (the reclassification maps' mIoU): K in {5, 10, 20, 30}
    # at m = 5, m in {5, 10, 20} at K = 20
    prototypes('prototypes_k5', k=5),
    prototypes('prototypes_k10', k=10),
    prototypes('prototypes_k30', k=30),
    reclassify('reclassify_k5_m5', 'prototypes_k5', top_m=5),
    reclassify('reclassify_k10_m5', 'prototypes_k10', top_m=5),
    reclassify('reclassify_k20_m5', 'prototypes', top_m=5),
    reclassify('reclassify_k30_m5', 'prototypes_k30', top_m=5),
    reclassify('reclassify_k20_m20', 'prototypes', top_m=20),
    # PtReCl on the recovery net's level-3 features (112 channels at stride 16,
    # the last MBConv block's linear projection) instead of the 1280-channel
    # head conv (a ReLU6: its features are mostly exact zeros, which leaves
    # cosine similarity little to compare); the stages report both sparsities
    prototypes('prototypes_l3', level=3),
    reclassify('reclassify_l3', 'prototypes_l3', level=3),
    dict(
        name='irn_ptrecl_l3',
        type='Predict',
        config=irn_config,
        checkpoint='irn',
        cams='reclassify_l3',
    ),
    dict(
        name='ptrecl_l3_labels',
        type='Labels',
        kind='cam',
        cams='irn_ptrecl_l3.walk_scores',
        label_options=dict(bg_score='auto:bg_score'),
    ),
    # analysis, not a setting: region and outline quality (contour F-score,
    # interior mIoU) of the pseudo masks side by side, against ground truth
    dict(
        name='label_quality',
        type='LabelQuality',
        labels=[
            'cam_labels',
            'crf_labels',
            'irn_labels',
            'irn_crf_labels',
            'irn_crf_consensus',
            'crf_consensus',
            'recovery',
            'ptrecl_labels',
        ],
    ),
    # the final nets: the upper bound and its twice-as-long run first, then the
    # pseudo masks by importance; AffinityNet (PSA labels, its walk) after them
    deeplab('deeplabv2_gt', config=deeplab_gt_config, curve=True),
    deeplab('deeplabv2_gt_2x', config=deeplab_gt_2x_config, curve=True),
    deeplab('deeplabv2_irn', 'irn_labels'),
    deeplab('deeplabv2_ptrecl', 'ptrecl_labels'),
    deeplab('deeplabv2_crf', 'crf_labels'),
    deeplab('deeplabv2_cam', 'cam_labels'),
    deeplab('deeplabv2_irn_crf', 'irn_crf_labels'),
    deeplab('deeplabv2_consensus', 'irn_crf_consensus'),
    deeplab('deeplabv2_crf_consensus', 'crf_consensus'),
    # one round of self-training: the consensus-trained net predicts the train
    # split (logits of background and the image's classes only), and the
    # pixels where that prediction agrees with IRN and CAM + CRF (the
    # consensus it was trained on) are the next round's masks
    dict(
        name='selftrain_predict',
        type='Predict',
        config=deeplab_predict_config,
        checkpoint='deeplabv2_consensus',
    ),
    dict(
        name='selftrain_consensus',
        type='Consensus',
        labels=['selftrain_predict.predicted_labels', 'irn_crf_consensus'],
    ),
    deeplab('deeplabv2_selftrain', 'selftrain_consensus'),
    dict(
        name='psa_labels',
        type='Labels',
        kind='psa',
        cams='cam',
        thresholds='thresholds',
        label_options=dict(alpha_low='auto:alpha_low', alpha_high='auto:alpha_high'),
    ),
    dict(
        name='affinitynet',
        type='TrainTest',
        config=affinity_config,
        cams='cam',
        train_labels='psa_labels',
        thresholds='thresholds',
        cfg_options={'model.test_cfg.alpha': 'auto:alpha'},
    ),
    deeplab('deeplabv2_affinitynet', 'affinitynet'),
    # DeepLab's test-time recipe on every final net (the bound included)
    tta('deeplabv2_gt', config=deeplab_gt_config),
    *[
        tta(name)
        for name in (
            'deeplabv2_irn',
            'deeplabv2_ptrecl',
            'deeplabv2_crf',
            'deeplabv2_cam',
            'deeplabv2_irn_crf',
            'deeplabv2_consensus',
            'deeplabv2_crf_consensus',
            'deeplabv2_selftrain',
            'deeplabv2_affinitynet',
        )
    ],
    dict(name='walk', type='WalkBenchmark'),
]
report = dict(num_samples=4, split='train')
