# The instance benchmark (BENCHMARKS.md's instance section; `python
# tools/benchmark.py --bench instances` runs it): on the bench-size FashionPaste
# set, instance pseudo labels two ways, WISE (a PRM classifier's peaks, each
# matched to a selective-search proposal by PRM's retrieval) and IRN's instances,
# scored on train against the ground-truth instances; then Mask R-CNN (mmdet,
# EfficientNet-Lite0 FPN) on each and on the ground-truth instances (the upper
# bound), scored on val.
#   python tools/run_pipeline.py configs/pipelines/instances_effl0_fashionpaste-bench.py
# The work dir is the semantic bench pipeline's: its data, cam, thresholds,
# ir_labels and irn stages (one definition, _base_/effl0_fashionpaste-bench.py)
# are shared, not rerun.
# No setting is picked on ground truth: the peaks' threshold is the PRM maps' own
# Otsu background score.
_base_ = ['./_base_/effl0_fashionpaste-bench.py']
cfg_dir = _base_.cfg_dir
mask_rcnn_config = (
    cfg_dir + '/mask_rcnn/mask-rcnn_effl0_fpn_1xb8-1000it_fashionpaste2-320.py'
)


def mask_rcnn(name, train_instances):
    """Mask R-CNN on a COCO json of instances, scored on val's ground truth."""
    return dict(
        name=name,
        type='DetTrainTest',
        config=mask_rcnn_config,
        train_instances=train_instances,
        val_instances='gt_val',
    )


#: PRM's proposal area limits (fractions of the image)
prm_size_limits = (2e-5, 0.85)


def wise(name, **retrieval):
    """A WISE stage on the PRM stage's cues and the selective-search proposals,
    peaks above the PRM maps' Otsu background score; ``retrieval``: the WISE
    stage's retrieval options."""
    return dict(
        name=name,
        type='WISE',
        cams='prm',
        proposals='proposals',
        thresholds='prm_thresholds',
        min_score='auto:bg_score',
        **retrieval,
    )


stages = [
    # the stages shared with the other bench pipelines
    _base_.bench_stages.data,
    _base_.bench_stages.cam,
    _base_.bench_stages.thresholds,
    _base_.bench_stages.ir_labels,
    _base_.bench_stages.irn,
    # WISE: the PRM classifier fine-tunes the CAM classifier's backbone (image
    # labels only; PRM fine-tunes a pretrained classifier). From ImageNet weights
    # alone, peak stimulation stayed at the label prior's loss for 3 epochs on
    # this set (0.48; the CAM head reaches 0.35), since only peak pixels get
    # gradient; from the CAM backbone it falls to 0.27 within an epoch
    dict(
        name='prm',
        type='TrainTest',
        config=cfg_dir + '/prm/prm_effl0_1xb16-8e_fashionpaste2-320.py',
        init_from='cam',
        validate=True,
    ),
    dict(name='prm_thresholds', type='Thresholds', cams='prm'),
    dict(name='proposals', type='Proposals'),
    # PRM's retrieval: every proposal within PRM's size limits competes for a
    # peak, scored by its peak response map, the class map's background and the
    # contour; class-agnostic NMS keeps one instance where several peaks of an
    # object retrieve it (PRM's peaks are several per object)
    wise('wise', candidates='all', size_limits=prm_size_limits, one_point=False),
    # WISE's rule instead: a peak takes only proposals holding its pixel and no
    # other peak's (WISE's points are one per object)
    wise('wise_one_point', candidates='holding', size_limits=None, one_point=True),
    # PRM's retrieval without its instance-aware cue: each peak scored with its
    # class map instead of its peak response map (PRM's ablation of the term)
    wise(
        'wise_class_maps',
        candidates='all',
        size_limits=prm_size_limits,
        one_point=False,
        instance_cue=False,
    ),
    # Mask R-CNN on ground truth, IRN's and WISE's instances
    dict(name='gt_train', type='CocoGT', split='train'),
    dict(name='gt_val', type='CocoGT', split='val'),
    mask_rcnn('maskrcnn_gt', 'gt_train'),
    mask_rcnn('maskrcnn_wise', 'wise.pseudo_instances'),
    mask_rcnn('maskrcnn_irn', 'irn.pseudo_instances'),
]

# the spread (issue: WISE against IRN and Mask R-CNN against its bound with the
# bench's spread): `python tools/benchmark.py --bench instances --seed N` runs
# every stage again on the set generated at seed N, training at seed N too, in
# the semantic bench's -seedN work dir, whose data, CAM and IRN stages at seed N
# (the main chain's spread) are the same stages and are not rerun;
# `--until wise` stops before the Mask R-CNNs. BENCHMARKS.md shows each number
# as mean ± sd over the seeds that ran.
spread = dict(seeds=(1, 2), stages=[stage['name'] for stage in stages])

# ------------------------------------------------------------------ BENCHMARKS.md
# What BENCHMARKS.md shows of this pipeline (tools/benchmark.py copies it into
# benchmarks/results_instances.json with the stage manifests;
# tools/benchmark_render.py documents the format).
published = dict(
    instances='IRN: 37.7 AP50 (VOC train)',
    wise='PRM (VOC val, VOC-style): AP25 44.3 / AP50 26.8 / AP75 9.0, ABO 37.6; '
    'WISE -> Mask R-CNN: 41.7 AP50 (VOC val)',
    maskrcnn='Mask R-CNN on IRN instances 46.7, on WISE 41.7 mask AP50 (VOC val)',
)
#: Mask R-CNN stages: (what they trained on, the stage that made it; None:
#: the ground truth)
mask_rcnn_sources = dict(
    maskrcnn_wise=('WISE instances', 'wise'),
    maskrcnn_irn=('IRN instances', 'irn'),
    maskrcnn_gt=('ground-truth instances', None),
)


def voc_style(stage, prefix='instance/voc_', abo='instance/ABO'):
    """A stage's VOC-style APs at IoU 0.25 / 0.5 / 0.75 and ABO, or '-' (a run
    that predates them); pseudo instances by default, ``prefix='voc/'`` and
    ``abo='voc/ABO'`` for a Mask R-CNN stage's VOCMaskAPMetric."""
    keys = ('AP25', 'AP50', 'AP75')
    aps = ' / '.join(f"{{{stage}.metrics['{prefix}{key}']:.1f}}" for key in keys)
    return [[f"{aps}, {{{stage}.metrics['{abo}']:.1f}}", '-']]


def ap(stage, key):
    """mmdet's AP ``key`` of a stage in percent (-1: no ground truth)."""
    value = f"{stage}.metrics['coco/{key}']"
    return f'{{100 * {value}:.1f}}{{{value} >= 0}}'


def mask_rcnn_row(name):
    """Mask R-CNN (mmdet's CocoMetric on val) on one instance source."""
    what, source = mask_rcnn_sources[name]
    gt50 = "maskrcnn_gt.metrics['coco/segm_mAP_50']"
    share = (
        f"{{100 * {name}.metrics['coco/segm_mAP_50'] / {gt50}:.0f}}% of ground "
        f'truth){{{gt50} > 0}}'
    )
    upper_bound = 'the fully supervised upper bound'
    train = upper_bound
    if source is not None:
        train = [
            [
                f"pseudo instances of AP50 {{{source}.metrics['instance/AP50']:.1f}} "
                'on train',
                upper_bound,
            ]
        ]
    return [
        f'Mask R-CNN on {what}',
        f'`{name}`',
        [ap(name, 'segm_mAP_50'), [f' ({share}', ''] if source else ''],
        [[ap(name, 'segm_mAP'), 'not run']],
        [[ap(name, 'bbox_mAP_50'), 'not run']],
        voc_style(name, 'voc/', 'voc/ABO'),
        train,
        published['maskrcnn'] if source else '-',
    ]


benchmark = dict(
    blocks=[
        '## Instances: WISE and IRN into Mask R-CNN',
        'Pipeline `{results.pipeline}` (`{results.command}`; shares the data, CAM '
        'and IRN stages above). Pseudo instances are scored on train against the '
        'ground-truth instances, COCO-style (mask AP50, AP) and VOC-style as PRM, '
        'WISE and IRN report them (all-point AP at IoU 0.25 / 0.5 / 0.75, VOC '
        "matching; ABO: each object's best overlap, averaged); Mask R-CNN by mmdet's "
        'CocoMetric and the same VOC-style AP on val.',
        dict(
            kind='table',
            header=[
                'instances',
                'pipeline stage',
                'setting (ground-truth-free)',
                'train mask AP50',
                'train mask AP',
                'VOC-style AP25 / AP50 / AP75, ABO',
                'notes',
                'published (VOC)',
            ],
            rows=[
                [
                    'WISE',
                    '`wise`',
                    'PRM peaks above bg {wise.options.min_score:.2f} (Otsu of the '
                    "PRM maps); PRM's retrieval over every proposal; NMS "
                    '{wise.options.nms_iou:.1f}',
                    "{wise.metrics['instance/AP50']:.1f}",
                    "{wise.metrics['instance/AP']:.1f}",
                    voc_style('wise'),
                    [
                        '{wise.instances} instances; skipped: ',
                        ['{tally(wise.skipped)}', 'none'],
                        [
                            "; peaks per object {wise.metrics['peaks/per_object']:.1f}, "
                            "objects hit {wise.metrics['peaks/objects_hit']:.0f}%; "
                            'proposals: best-overlap ceiling '
                            "{proposals.metrics['proposals/ABO']:.1f}, recall at 0.5 "
                            "{proposals.metrics['proposals/recall50']:.1f}",
                            '',
                        ],
                    ],
                    published['wise'],
                ],
                [
                    "WISE, WISE's proposal rule",
                    '`wise_one_point`',
                    'as above; a peak takes only proposals holding it and no '
                    "other peak (WISE's points are one per object)",
                    "{wise_one_point.metrics['instance/AP50']:.1f}",
                    "{wise_one_point.metrics['instance/AP']:.1f}",
                    voc_style('wise_one_point'),
                    [
                        '{wise_one_point.instances} instances; skipped: ',
                        ['{tally(wise_one_point.skipped)}', 'none'],
                    ],
                    '-',
                ],
                [
                    'WISE without the instance-aware cue',
                    '`wise_class_maps`',
                    'as `wise`; each peak scored with its class map, not its peak '
                    'response map',
                    "{wise_class_maps.metrics['instance/AP50']:.1f}",
                    "{wise_class_maps.metrics['instance/AP']:.1f}",
                    voc_style('wise_class_maps'),
                    [
                        '{wise_class_maps.instances} instances; skipped: ',
                        ['{tally(wise_class_maps.skipped)}', 'none'],
                    ],
                    '-',
                ],
                [
                    'IRN',
                    '`irn`',
                    "the IRN config's walk bg (IRN's published 0.25)",
                    "{irn.metrics['instance/AP50']:.1f}",
                    "{irn.metrics['instance/AP']:.1f}",
                    voc_style('irn'),
                    '-',
                    published['instances'],
                ],
            ],
            min_rows=0,
            previous=3,
        ),
        dict(
            kind='table',
            header=[
                'instance net',
                'pipeline stage',
                'val mask AP50',
                'val mask AP',
                'val box AP50',
                'val VOC-style AP25 / AP50 / AP75, ABO',
                'trained on',
                'published (VOC)',
            ],
            rows=[mask_rcnn_row(name) for name in mask_rcnn_sources],
            previous=2,
        ),
        'Proposals (stage `proposals`, selective search, 2 processes): '
        '{proposals.images_per_s:.1f} images/s.',
        dict(
            kind='samples',
            caption='ground-truth instances, IRN and WISE pseudo instances, and Mask '
            'R-CNN predictions (score >= {draw_score}) of the runs on ground truth, '
            'IRN and WISE instances; each instance in its own colour',
        ),
    ],
    samples=dict(
        stages=['irn', 'wise', 'maskrcnn_gt', 'maskrcnn_irn', 'maskrcnn_wise'],
        labels=False,
    ),
)
