"""Run a whole WSSS pipeline from one config: stages, manifests, resumption.

A pipeline config lists its ``stages`` in order; each is a dict with a unique
``name``, a ``type`` registered in :data:`mmwsss.registry.STAGES` and that
type's arguments.
Stages that train a model name an ordinary mmwsss / mmseg config; the inputs
of a stage are named by the stage that makes them::

    data_root = 'data/fashionpaste_demo'
    work_dir = 'work_dirs/pipeline_demo'
    stages = [
        dict(name='data', type='FashionPaste', size='demo'),
        dict(name='cam', type='TrainTest', config='configs/cam/...', validate=True),
        dict(name='ir_labels', type='Labels', kind='ir', cams='cam'),
        dict(name='irn', type='TrainTest', config='configs/irn/...',
             cams='cam', train_labels='ir_labels'),
        dict(name='deeplabv2', type='TrainTest', config='configs/deeplabv2/...',
             train_labels='irn'),
    ]

Inputs name an earlier stage or one of its named outputs (``'irn.walk_scores'``);
option values ``'auto:KEY'`` come from a ``Thresholds`` stage (ground-truth
free, :mod:`mmwsss.ops.thresholds`) and ``'oracle:STAGE:METRIC'`` from another
stage's metrics (for oracle columns only).

Every stage writes ``{work_dir}/{name}/stage.json`` (its settings' digest, a
``config=`` file counted by its parsed content, inputs, counts, metrics,
``finished``). A finished stage with the same settings
is skipped; an interrupted one resumes (training from its last checkpoint, the
export and label files from those already complete, partial files are never
trusted). A stage whose settings or inputs changed, and the stages that
``from_stage`` / ``only`` name, run afresh: their old work dir is kept under
``{name}.old-{time}``, never deleted.

Several processes (``tools/run_pipeline.py --launcher pytorch`` under torchrun,
``--launcher slurm`` under srun) run one pipeline together: training stages
train with DDP, exports and label stages give each rank its share of the images
(the files are those of one process), thresholds pool the histograms of every
rank; rank 0 alone moves folders aside and writes manifests and the report, and
every rank carries on with rank 0's result of each stage. Stage kinds not marked
:func:`on_all_ranks` (dataset generation, the walk benchmark) run on rank 0
while the other ranks wait.
"""

from __future__ import annotations

import hashlib
import json
import os
import os.path as osp
import time

from mmengine.config import Config
from mmengine.dist import barrier, is_main_process
from mmengine.logging import print_log

from ..datasets import dataset_classes, split_ids
from ..datasets.fashionpaste import generate_fashionpaste
from ..evaluation import score_label_dir
from ..registry import STAGES
from ..utils.checkpoint import safe_checkpoint_loader
from ..utils.distributed import broadcast_from_main, init_distributed
from ..utils.provenance import config_file_digest
from .cam_stage import all_background_miou
from .instance_coco import merge_stage_instances
from .refine_labels import THRESHOLD_RULE, make_label_dir, score_dir_thresholds
from .runner_stage import run_test_stage, run_train_test_stage, write_json

MANIFEST = 'stage.json'


class MissingInputError(RuntimeError):
    """A stage's input has not been made (its producing stage did not finish)."""


def _read_json(path: str) -> dict | None:
    if not osp.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def _digest(settings: dict) -> str:
    text = json.dumps(settings, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


#: Arguments that name other stages' outputs, and what they provide. A value is
#: a stage name (its main output) or ``'stage.output'`` (a named output, e.g.
#: ``'irn.walk_scores'``: the folder of that exporter).
INPUT_ARGS = {
    'cams': 'CAMs',
    'train_labels': 'training masks',
    'thresholds': 'thresholds',
    'init_from': 'checkpoint',
    'load_from': 'checkpoint',
    'checkpoint': 'checkpoint',
    # mmdet configs (mmwsss.pipeline.mmdet_stage): COCO jsons
    'train_instances': 'training instances',
    'val_instances': 'ground-truth instances',
    # LabelQuality (mmwsss.pipeline.label_quality): label folders to score
    'labels': 'label maps',
    # Predict: masks the test loop reads (e.g. PtReCl's prototype stage), and
    # a prototype folder for the model (PtReCl's reclassification)
    'test_labels': 'masks',
    'prototypes': 'prototypes',
    # WISE (mmwsss.pipeline.wise): class-agnostic proposals
    'proposals': 'proposals',
}

#: Prefix of an option value read from a thresholds result (ground-truth-free,
#: see :mod:`mmwsss.ops.thresholds`), e.g. ``bg_score='auto:bg_score'``.
AUTO = 'auto:'
#: Prefix of an option value read from another stage's metrics, e.g.
#: ``'oracle:cam:seed/best_bg_score'``: a setting picked on ground truth, for
#: oracle columns only.
ORACLE = 'oracle:'


def producer_of(ref: str) -> str:
    """The stage name of an input reference ``'stage'`` or ``'stage.output'``."""
    return ref.partition('.')[0]


def input_refs(stage: dict) -> list[tuple[str, str]]:
    """``(argument, reference)`` of each input of a stage; an argument may
    hold one reference or a list of them (e.g. ``labels`` of a
    ``LabelQuality`` stage)."""
    refs = []
    for arg in INPUT_ARGS:
        value = stage.get(arg)
        for ref in value if isinstance(value, list | tuple) else [value]:
            if ref is not None:
                refs.append((arg, ref))
    return refs


def on_all_ranks(stage_kind):
    """Mark a stage kind that every rank of a distributed pipeline runs.

    Each rank does its share (DDP training, its images of an export or of a
    label folder, its part of a histogram summed over the ranks); the
    pipeline keeps rank 0's result. Kinds without the mark run on rank 0 alone
    while the other ranks wait for its result.
    """
    stage_kind.on_all_ranks = True
    return stage_kind


class PipelineContext:
    """What the stages share: data root, work dir, launcher ('none', 'pytorch'
    or 'slurm') and finished stages' results."""

    def __init__(self, data_root: str, work_dir: str, launcher: str = 'none') -> None:
        self.data_root = data_root
        self.work_dir = work_dir
        self.launcher = launcher
        self.results: dict[str, dict] = {}

    def stage_dir(self, name: str) -> str:
        return osp.join(self.work_dir, name)

    def result_of(self, consumer: str, ref: str, what: str) -> dict:
        """The finished result of the stage that ``ref`` names."""
        producer = producer_of(ref)
        result = self.results.get(producer)
        if not result or not result.get('finished'):
            raise MissingInputError(
                f'stage {consumer!r} needs the {what} of stage {producer!r}, which '
                f'has not finished (no complete {self.stage_dir(producer)}/'
                f'{MANIFEST}); run that stage first (--only {producer} or '
                f'--from {producer})'
            )
        return result

    def output_of(self, consumer: str, ref: str, what: str) -> str:
        """The output folder (or file) ``ref`` names (``'stage'``: its main
        output)."""
        result = self.result_of(consumer, ref, what)
        producer, _, output = ref.partition('.')
        outputs = result.get('outputs') or {}
        if output:
            if output not in outputs:
                raise MissingInputError(
                    f'stage {consumer!r} takes {ref!r}, but stage {producer!r} '
                    f'has no output {output!r}; its outputs: {sorted(outputs)}'
                )
            folder = outputs[output]
        else:
            folder = result['out_dir'].split(', ')[0]
        if not osp.exists(folder):
            raise MissingInputError(
                f'stage {consumer!r} needs the {what} of stage {producer!r} in '
                f'{folder}, which does not exist any more; rerun --from {producer}'
            )
        return folder

    def thresholds_of(self, consumer: str, ref: str) -> dict:
        result = self.result_of(consumer, ref, INPUT_ARGS['thresholds'])
        if 'thresholds' not in result:
            raise MissingInputError(
                f'stage {consumer!r} takes thresholds from stage {ref!r}, which '
                'computed none (use a Thresholds stage, or a Labels stage with '
                f'{AUTO!r} options)'
            )
        return result['thresholds']

    def checkpoint_of(self, consumer: str, ref: str) -> str:
        result = self.result_of(consumer, ref, 'checkpoint')
        ckpt = result.get('checkpoint')
        if not ckpt or not osp.isfile(ckpt):
            raise MissingInputError(
                f'stage {consumer!r} starts from the checkpoint of stage {ref!r}, '
                f'which has none ({ckpt}); rerun --from {ref}'
            )
        return ckpt

    def resolve(self, consumer: str, value, thresholds: dict | None):
        """Replace ``'auto:KEY'`` / ``'oracle:STAGE:METRIC'`` strings in
        ``value`` (nested dicts and lists too) by their numbers."""
        if isinstance(value, dict):
            return {k: self.resolve(consumer, v, thresholds) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(self.resolve(consumer, v, thresholds) for v in value)
        if not isinstance(value, str):
            return value
        if value.startswith(AUTO):
            key = value[len(AUTO) :]
            if thresholds is None:
                raise ValueError(
                    f'stage {consumer!r}: {value!r} needs thresholds (a '
                    "thresholds='STAGE' input)"
                )
            if key not in thresholds:
                raise KeyError(
                    f'stage {consumer!r}: no threshold {key!r}; known: '
                    f'{sorted(thresholds)}'
                )
            return thresholds[key]
        if value.startswith(ORACLE):
            stage, _, metric = value[len(ORACLE) :].partition(':')
            metrics = self.result_of(consumer, stage, 'metrics').get('metrics', {})
            if metric not in metrics:
                raise KeyError(
                    f'stage {consumer!r}: stage {stage!r} has no metric {metric!r}'
                )
            return metrics[metric]
        return value


@STAGES.register_module('FashionPaste')
def _fashionpaste_stage(ctx: PipelineContext, name: str, **kwargs) -> dict:
    """Generate the FashionPaste benchmark into ``data_root`` (or reuse it);
    its metric is the all-background floor of the train split's masks."""
    start = time.perf_counter()
    manifest = generate_fashionpaste(ctx.data_root, **kwargs)
    masks = [
        osp.join(ctx.data_root, 'SegmentationClass', f'{i}.png')
        for i in split_ids(ctx.data_root, 'train')
    ]
    floor = all_background_miou(masks, len(dataset_classes(ctx.data_root)))
    return dict(
        kind='dataset',
        out_dir=osp.abspath(ctx.data_root),
        counts=manifest['counts'],
        source=manifest.get('source'),
        image_size=manifest.get('image_size'),
        scored_on='train',
        metrics={'all_background_mIoU': round(floor, 2)},
        seconds=round(time.perf_counter() - start, 1),
    )


@STAGES.register_module('Thresholds')
@on_all_ranks
def _thresholds_stage(
    ctx: PipelineContext, name: str, cams: str, split: str = 'train'
) -> dict:
    """Ground-truth-free thresholds from a stage's CAMs (or walked scores):
    :func:`mmwsss.ops.thresholds.thresholds_from_histogram` of the split's
    pooled per-pixel max class score. Writes ``thresholds.json``."""
    cam_dir = ctx.output_of(name, cams, INPUT_ARGS['cams'])
    start = time.perf_counter()
    thresholds, hist = score_dir_thresholds(cam_dir, split_ids(ctx.data_root, split))
    out_dir = ctx.stage_dir(name)
    if is_main_process():  # every rank has the same histogram
        write_json(
            osp.join(out_dir, 'thresholds.json'),
            dict(thresholds=thresholds, rule=THRESHOLD_RULE, histogram=hist.tolist()),
        )
    return dict(
        kind='thresholds',
        out_dir=osp.abspath(out_dir),
        thresholds=thresholds,
        rule=THRESHOLD_RULE,
        seconds=round(time.perf_counter() - start, 1),
    )


@STAGES.register_module('Labels')
@on_all_ranks
def _labels_stage(
    ctx: PipelineContext,
    name: str,
    kind: str,
    cams: str,
    split: str = 'train',
    label_options: dict | None = None,
    thresholds: str | None = None,
    workers: int = 2,
    gt_dir: str | None = 'SegmentationClass',
) -> dict:
    """CRF / CAM label PNGs from a stage's CAMs or walked scores
    (``make_label_dir``), scored against ``{data_root}/{gt_dir}`` (None: not
    scored).

    ``'auto:KEY'`` values of ``label_options`` are read from the ``thresholds``
    stage, or, without one, computed from the input maps themselves (the
    ground-truth-free rule of :mod:`mmwsss.ops.thresholds`)."""
    cam_dir = ctx.output_of(name, cams, INPUT_ARGS['cams'])
    out_dir = osp.abspath(osp.join(ctx.stage_dir(name), 'labels'))
    ids = split_ids(ctx.data_root, split)
    start = time.perf_counter()
    options = dict(label_options or {})
    found = None
    if thresholds is not None:
        found = ctx.thresholds_of(name, thresholds)
    elif any(isinstance(v, str) and v.startswith(AUTO) for v in options.values()):
        found, _ = score_dir_thresholds(cam_dir, ids)
    options = ctx.resolve(name, options, found)
    counts = make_label_dir(
        kind,
        cam_dir,
        osp.join(ctx.data_root, 'JPEGImages'),
        ids,
        out_dir,
        workers=workers,
        **options,
    )
    result = dict(
        kind=f'{kind} labels',
        out_dir=out_dir,
        outputs=dict(labels=out_dir),
        scored_on=split,
        label_options=options,
        **counts,
    )
    if found is not None:
        result.update(thresholds=found, rule=THRESHOLD_RULE)
    result['seconds'] = round(time.perf_counter() - start, 1)
    result['images_per_s'] = (
        round(counts['written'] / result['seconds'], 2)
        if counts['written'] == len(ids) and result['seconds'] > 0
        else None
    )
    if gt_dir is not None and is_main_process():  # the pipeline keeps rank 0's
        result.update(score_label_stage(ctx, out_dir, ids, gt_dir))
    return result


def score_label_stage(
    ctx: PipelineContext, out_dir: str, ids: list[str], gt_dir: str
) -> dict:
    """A label stage's scores against ``{data_root}/{gt_dir}``: ``metrics``
    (the scalars of :func:`score_label_dir`) and ``per_class_iou``."""
    scores = score_label_dir(
        out_dir,
        osp.join(ctx.data_root, gt_dir),
        ids,
        len(dataset_classes(ctx.data_root)),
    )
    return dict(
        metrics={k: v for k, v in scores.items() if not isinstance(v, list | dict)},
        per_class_iou=scores.get('IoU'),
    )


def _train_labels_options(cfg: Config, label_dir: str) -> dict:
    """Config overrides that train on ``label_dir``'s masks."""
    dataset = cfg.train_dataloader.dataset
    if dataset.get('type') == 'PseudoLabelDataset':
        return {'train_dataloader.dataset.pseudo_dir': label_dir}
    return {'train_dataloader.dataset.data_prefix.seg_map_path': label_dir}


def _init_options(cfg: Config, checkpoint: str) -> dict:
    """Config overrides that start the backbone from another stage's
    checkpoint (its ``backbone.*`` weights, e.g. the CAM classifier's: image
    labels only, no extra supervision)."""
    options = {
        'model.backbone.init_cfg': dict(
            type='Pretrained', checkpoint=checkpoint, prefix='backbone.'
        )
    }
    if cfg.model.backbone.get('pretrained') is True:
        # EfficientNetLite loads its ImageNet weights after init_cfg otherwise
        options['model.backbone.pretrained'] = False
    return options


def _last_checkpoint(work_dir: str) -> str | None:
    """The checkpoint mmengine's CheckpointHook saved last in ``work_dir``."""
    path = osp.join(work_dir, 'last_checkpoint')
    if not osp.exists(path):
        return None
    with open(path) as f:
        ckpt = f.read().strip()
    return osp.abspath(ckpt) if osp.isfile(ckpt) else None


def _model_options(
    ctx: PipelineContext,
    name: str,
    config: str,
    cams: str | None,
    train_labels: str | None,
    thresholds: str | None,
    init_from: str | None,
    cfg_options: dict | None,
) -> tuple[Config, dict, dict, dict | None]:
    """The parsed config, its overrides, transform arguments and thresholds of
    a stage that runs a config (its inputs resolved to folders / numbers)."""
    found = ctx.thresholds_of(name, thresholds) if thresholds else None
    options = ctx.resolve(name, dict(cfg_options or {}), found)
    cfg = Config.fromfile(config)
    cfg.merge_from_dict(options)
    transform_args = {}
    if cams is not None:
        cam_dir = ctx.output_of(name, cams, INPUT_ARGS['cams'])
        transform_args['LoadCAMs'] = dict(cam_dir=cam_dir)
    if train_labels is not None:
        label_dir = ctx.output_of(name, train_labels, INPUT_ARGS['train_labels'])
        options.update(_train_labels_options(cfg, label_dir))
    if init_from is not None:
        options.update(_init_options(cfg, ctx.checkpoint_of(name, init_from)))
    return cfg, options, transform_args, found


def annotated_dataset(cfg: Config, loader: str) -> tuple[str, dict]:
    """Config key and config of the dataset of ``loader`` that has the
    ``ann_file`` (inside dataset wrappers such as ``PseudoLabelDataset`` or
    ``RepeatDataset``)."""
    key, dataset = f'{loader}.dataset', cfg[loader].dataset
    while 'ann_file' not in dataset and 'dataset' in dataset:
        key, dataset = f'{key}.dataset', dataset.dataset
    return key, dataset


def _model_result(
    ctx: PipelineContext,
    name: str,
    config: str,
    cfg: Config,
    result: dict,
    options: dict,
    found: dict | None,
) -> dict:
    """The manifest fields every stage that runs a config records."""
    result.pop('skipped', None)
    # the split the test loop scored, after cfg_options (e.g. VOC's train_aug)
    _, dataset = annotated_dataset(cfg, 'test_dataloader')
    split = osp.splitext(osp.basename(dataset.ann_file))[0]
    folders = [d for d in (result.get('out_dir') or '').split(', ') if d]
    result.update(
        kind=osp.basename(osp.dirname(config)),
        scored_on=split,
        metrics=result.pop('test'),
        seconds=round(result['train_s'] + result['export_s'], 1),
        out_dir=result.get('out_dir') or ctx.stage_dir(name),
        outputs={osp.basename(d.rstrip('/')): d for d in folders},
        options=dict(options),
    )
    if found is not None:
        result['thresholds'] = found
    # folders written by hooks (OAAHook's accumulated maps): '{stage}.{folder}'
    for hook in cfg.get('custom_hooks') or []:
        out_dir = hook.get('out_dir') if isinstance(hook, dict) else None
        if isinstance(out_dir, str):
            path = out_dir.format(work_dir=ctx.stage_dir(name))
            if osp.isdir(path):
                result['outputs'][osp.basename(path.rstrip('/'))] = osp.abspath(path)
    # instance folders (IRN's) as COCO datasets too: '{stage}.{folder}_coco'
    result['outputs'].update(merge_stage_instances(cfg, result, ctx.data_root))
    return result


@STAGES.register_module('TrainTest')
@on_all_ranks
def _train_test_stage(
    ctx: PipelineContext,
    name: str,
    config: str,
    cams: str | None = None,
    train_labels: str | None = None,
    thresholds: str | None = None,
    init_from: str | None = None,
    validate: bool = False,
    val_interval: int | None = None,
    cfg_options: dict | None = None,
    train_instances: str | None = None,
    val_instances: str | None = None,
    load_from: str | None = None,
) -> dict:
    """Train a config's model and run its test loop (export + metrics).

    ``'auto:KEY'`` values of ``cfg_options`` are read from the ``thresholds``
    stage; ``init_from`` starts the backbone from that stage's checkpoint;
    ``load_from`` starts the whole model from it (mmengine's ``load_from``,
    non-strict: layers the checkpoint lacks keep their initialisation, e.g.
    SEAM fine-tuning the CAM classifier with its PCM new);
    ``val_interval`` validates during training (a curve in the manifest).
    An mmdet config (``default_scope='mmdet'``) trains on the COCO json of
    ``train_instances`` and is scored on that of ``val_instances``
    (:func:`mmwsss.pipeline.mmdet_stage.det_train_test_stage`)."""
    from .mmdet_stage import det_train_test_stage, is_mmdet_config  # imports us

    if is_mmdet_config(Config.fromfile(config)):
        if load_from is not None:
            raise ValueError(
                f'stage {name!r}: load_from is for mmseg-style configs; an mmdet '
                "stage starts its backbone with init_from (or the config's own "
                'load_from)'
            )
        return det_train_test_stage(
            ctx,
            name,
            config,
            train_instances=train_instances,
            val_instances=val_instances,
            thresholds=thresholds,
            init_from=init_from,
            validate=validate,
            val_interval=val_interval,
            cfg_options=cfg_options,
            cams=cams,
            train_labels=train_labels,
        )
    if train_instances is not None or val_instances is not None:
        raise ValueError(
            f'stage {name!r}: train_instances / val_instances are COCO inputs of '
            f'mmdet configs; {config} is none'
        )
    cfg, options, transform_args, found = _model_options(
        ctx, name, config, cams, train_labels, thresholds, init_from, cfg_options
    )
    if load_from is not None:
        options['load_from'] = ctx.checkpoint_of(name, load_from)
    result = run_train_test_stage(
        config,
        ctx.stage_dir(name),
        ctx.data_root,
        cfg_options=options,
        manifest='train_test.json',
        validate=validate,
        val_interval=val_interval,
        transform_args=transform_args,
        launcher=ctx.launcher,
    )
    result = _model_result(ctx, name, config, cfg, result, options, found)
    result['checkpoint'] = _last_checkpoint(ctx.stage_dir(name))
    return result


@STAGES.register_module('Predict')
@on_all_ranks
def _predict_stage(
    ctx: PipelineContext,
    name: str,
    config: str,
    checkpoint: str,
    cams: str | None = None,
    thresholds: str | None = None,
    cfg_options: dict | None = None,
    test_labels: str | None = None,
    prototypes: str | None = None,
    tta: bool = False,
) -> dict:
    """Run a config's test (export) loop with the checkpoint of stage
    ``checkpoint``, no training: e.g. IRN's walk again on other maps; with
    ``tta`` the config's test-time augmentation (``tta_pipeline`` /
    ``tta_model``, as ``tools/test.py --tta``: DeepLab's multi-scale + flip +
    dense CRF).

    ``test_labels`` names a label folder the test dataset reads as its masks
    (``test_dataloader.dataset.pseudo_dir`` of a ``PseudoLabelDataset``, e.g.
    the pseudo masks PtReCl's prototypes are gathered by); ``prototypes`` a
    prototype folder, set as ``model.prototypes`` (PtReCl's reclassifier)."""
    cfg, options, transform_args, found = _model_options(
        ctx, name, config, cams, None, thresholds, None, cfg_options
    )
    if test_labels is not None:
        dataset = cfg.test_dataloader.dataset
        if dataset.get('type') != 'PseudoLabelDataset':
            raise ValueError(
                f'stage {name!r}: test_labels needs a test dataset of type '
                f"PseudoLabelDataset in {config}, not {dataset.get('type')!r}"
            )
        label_dir = ctx.output_of(name, test_labels, INPUT_ARGS['test_labels'])
        options['test_dataloader.dataset.pseudo_dir'] = label_dir
    if prototypes is not None:
        folder = ctx.output_of(name, prototypes, INPUT_ARGS['prototypes'])
        options['model.prototypes'] = folder
    result = run_test_stage(
        config,
        ctx.checkpoint_of(name, checkpoint),
        ctx.stage_dir(name),
        ctx.data_root,
        cfg_options=options,
        manifest='test.json',
        transform_args=transform_args,
        launcher=ctx.launcher,
        tta=tta,
    )
    result = _model_result(ctx, name, config, cfg, result, options, found)
    result['tta'] = tta
    return result


@STAGES.register_module('WalkBenchmark')
def _walk_benchmark_stage(
    ctx: PipelineContext,
    name: str,
    sizes: list = ((64, 64), (125, 94)),
    sparse_only: list = ((512, 512),),
) -> dict:
    """Time our random walk against the published dense formulation
    (:mod:`mmwsss.pipeline.walk_benchmark`), each in a fresh process."""
    from .walk_benchmark import compare

    start = time.perf_counter()
    rows = compare(
        sizes=[tuple(s) for s in sizes], sparse_only=[tuple(s) for s in sparse_only]
    )
    out_dir = ctx.stage_dir(name)
    write_json(osp.join(out_dir, 'walk.json'), dict(rows=rows))
    return dict(
        kind='walk benchmark',
        out_dir=osp.abspath(out_dir),
        rows=rows,
        seconds=round(time.perf_counter() - start, 1),
    )


#: Stage types of a pipeline config by name (a view of :data:`STAGES`).
STAGE_TYPES = STAGES.module_dict


def _check_stages(stages: list[dict]) -> None:
    seen: list[str] = []
    for stage in stages:
        name, kind = stage.get('name'), stage.get('type')
        if not name or name in seen:
            raise ValueError(f'every stage needs a unique name; got {name!r} twice')
        if STAGES.get(kind) is None:
            raise KeyError(
                f'stage {name!r}: unknown type {kind!r}; known: '
                f'{sorted(STAGES.module_dict)} (a kind defined elsewhere is '
                'registered with @mmwsss.registry.STAGES.register_module() in a '
                'module the pipeline config imports)'
            )
        for arg, ref in input_refs(stage):
            if producer_of(ref) not in seen:
                raise ValueError(
                    f'stage {name!r} takes {arg}={ref!r}, which is not an earlier stage'
                )
        seen.append(name)


def _keep_old(stage_dir: str) -> None:
    """Move a stage's previous work dir aside before a forced rerun."""
    if not osp.isdir(stage_dir):
        return
    old = f'{stage_dir}.old-{time.strftime("%Y%m%d-%H%M%S")}'
    os.replace(stage_dir, old)
    print_log(f'previous {stage_dir} kept as {old}', logger='current')


@safe_checkpoint_loader()  # stages and report load Runner checkpoints
def run_pipeline(
    cfg: Config | str,
    from_stage: str | None = None,
    only: str | None = None,
    report: bool = True,
    until: str | None = None,
    launcher: str = 'none',
) -> dict[str, dict]:
    """Run the stages of a pipeline config in order.

    Args:
        cfg (Config | str): Pipeline config (``data_root``, ``work_dir``,
            ``stages``; optional ``stage_options``: ``{stage name: {argument:
            value}}`` overrides, e.g. from an inheriting config, and
            ``report``: ``num_samples`` / ``split`` of the sample grid;
            ``dist_cfg``: ``backend`` / ``timeout`` of the process group) or its
            path.
        from_stage (str, optional): Rerun this stage and every later one afresh.
        only (str, optional): Rerun only this stage afresh (its inputs must be
            finished).
        report (bool): Write the report into ``{work_dir}/report``. Default: True.
        until (str, optional): Stop after this stage (the later ones are neither
            run nor reported), e.g. to make pseudo labels without the final net.
        launcher (str): 'none' (one process), 'pytorch' (every process that
            torchrun started calls this function) or 'slurm' (every srun task
            does). The process group is created unless one exists; its
            ``timeout`` must cover the longest stage that rank 0 runs alone.
            Default: 'none'.

    Returns:
        dict[str, dict]: Each stage's result (its manifest), by name.

    Raises:
        MissingInputError: If a stage's input stage has not finished.
    """
    if isinstance(cfg, str):
        cfg = Config.fromfile(cfg)
    if from_stage and only:
        raise ValueError('use either from_stage or only, not both')
    stages = [dict(s) for s in cfg.stages]
    _check_stages(stages)
    overrides = dict(cfg.get('stage_options') or {})
    for stage in stages:
        stage.update(overrides.pop(stage['name'], {}))
    if overrides:
        raise KeyError(f'stage_options name unknown stages {sorted(overrides)}')
    names = [s['name'] for s in stages]
    for wanted in (from_stage, only, until):
        if wanted is not None and wanted not in names:
            raise KeyError(f'no stage named {wanted!r}; stages: {names}')
    if until is not None:
        stages = stages[: names.index(until) + 1]
        names = names[: len(stages)]
    if only:
        forced = {only}
    elif from_stage:
        forced = set(names[names.index(from_stage) :])
    else:
        forced = set()
    init_distributed(launcher, **dict(cfg.get('dist_cfg') or {}))
    main = is_main_process()
    ctx = PipelineContext(cfg.data_root, cfg.work_dir, launcher)
    if main:
        os.makedirs(ctx.work_dir, exist_ok=True)
    for position, stage in enumerate(stages, 1):
        name = stage.pop('name')
        kind = stage.pop('type')
        manifest_path = osp.join(ctx.stage_dir(name), MANIFEST)
        settings = dict(type=kind, data_root=ctx.data_root, **stage)
        for arg, ref in input_refs(stage):
            if producer_of(ref) in ctx.results:
                # a changed input (rerun producer) makes this stage stale too
                made_by = ctx.results[producer_of(ref)].get('digest')
                if isinstance(stage[arg], list | tuple):
                    settings.setdefault(f'{arg}_digest', []).append(made_by)
                else:
                    settings[f'{arg}_digest'] = made_by
        if isinstance(stage.get('config'), str):
            # the parsed file's content (its _base_ files merged): editing the
            # config reruns the stage afresh, not only renaming it
            settings['config_digest'] = config_file_digest(stage['config'])
        digest = _digest(settings)
        # every rank decides on rank 0's reading of the manifest
        done = broadcast_from_main(_read_json(manifest_path) if main else None)
        if only and name != only:
            ctx.results[name] = done or {}
            continue
        same = done is not None and done.get('digest') == digest
        if name not in forced and same and done.get('finished'):
            print_log(
                f'[{position}/{len(stages)}] {name}: finished, skipped',
                logger='current',
            )
            ctx.results[name] = done
            continue
        print_log(f'[{position}/{len(stages)}] {name} ({kind})', logger='current')
        if main:
            if name in forced or (done is not None and not same):
                # a rerun, or settings / inputs changed: start afresh (an
                # interrupted run of the same settings resumes instead)
                _keep_old(ctx.stage_dir(name))
            os.makedirs(ctx.stage_dir(name), exist_ok=True)
            write_json(manifest_path, dict(name=name, digest=digest, finished=False))
        barrier()  # the stage's folder is ready
        stage_kind = STAGES.get(kind)
        result = None
        if main or getattr(stage_kind, 'on_all_ranks', False):
            result = stage_kind(ctx, name, **stage)
        barrier()  # every rank's share is written
        result = broadcast_from_main(result)
        result.update(name=name, type=kind, digest=digest, finished=True)
        result['inputs'] = {arg: stage[arg] for arg in INPUT_ARGS if arg in stage}
        if main:
            write_json(manifest_path, result)
        ctx.results[name] = result
    if report and main:
        from .report import write_report

        write_report(cfg, ctx.results)
    barrier()  # the other ranks return once the report is written
    return ctx.results
