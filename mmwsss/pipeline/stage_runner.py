"""Run a whole WSSS pipeline from one config: stages, manifests, resumption.

A pipeline config lists its ``stages`` in order; each is a dict with a unique
``name``, a ``type`` from :data:`STAGE_TYPES` and that type's arguments.
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

Every stage writes ``{work_dir}/{name}/stage.json`` (its settings' digest,
inputs, counts, metrics, ``finished``). A finished stage with the same settings
is skipped; an interrupted one resumes (training from its last checkpoint, the
export and label files from those already complete, partial files are never
trusted). A stage whose settings or inputs changed, and the stages that
``from_stage`` / ``only`` name, run afresh: their old work dir is kept under
``{name}.old-{time}``, never deleted.
"""

from __future__ import annotations

import hashlib
import json
import os
import os.path as osp
import time
from collections.abc import Callable

from mmengine.config import Config
from mmengine.logging import print_log

from ..datasets import dataset_classes, split_ids
from ..datasets.fashionpaste import generate_fashionpaste
from ..evaluation import score_label_dir
from .refine_labels import make_label_dir
from .runner_stage import run_train_test_stage, write_json

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


#: Arguments that name other stages, and what they provide.
INPUT_ARGS = {'cams': 'CAMs', 'train_labels': 'training masks'}


class PipelineContext:
    """What the stages share: data root, work dir and finished stages' results."""

    def __init__(self, data_root: str, work_dir: str) -> None:
        self.data_root = data_root
        self.work_dir = work_dir
        self.results: dict[str, dict] = {}

    def stage_dir(self, name: str) -> str:
        return osp.join(self.work_dir, name)

    def output_of(self, consumer: str, producer: str, what: str) -> str:
        """The main output folder of stage ``producer``, for stage ``consumer``."""
        result = self.results.get(producer)
        if not result or not result.get('finished'):
            raise MissingInputError(
                f'stage {consumer!r} needs the {what} of stage {producer!r}, which '
                f'has not finished (no complete {self.stage_dir(producer)}/'
                f'{MANIFEST}); run that stage first (--only {producer} or '
                f'--from {producer})'
            )
        folder = result['out_dir'].split(', ')[0]
        if not osp.isdir(folder):
            raise MissingInputError(
                f'stage {consumer!r} needs the {what} of stage {producer!r} in '
                f'{folder}, which does not exist any more; rerun --from {producer}'
            )
        return folder


def _fashionpaste_stage(ctx: PipelineContext, name: str, **kwargs) -> dict:
    """Generate the FashionPaste benchmark into ``data_root`` (or reuse it)."""
    start = time.perf_counter()
    manifest = generate_fashionpaste(ctx.data_root, **kwargs)
    return dict(
        kind='dataset',
        out_dir=osp.abspath(ctx.data_root),
        counts=manifest['counts'],
        seconds=round(time.perf_counter() - start, 1),
    )


def _labels_stage(
    ctx: PipelineContext,
    name: str,
    kind: str,
    cams: str,
    split: str = 'train',
    label_options: dict | None = None,
    workers: int = 2,
    gt_dir: str | None = 'SegmentationClass',
) -> dict:
    """CRF / CAM label PNGs from a stage's CAMs (``make_label_dir``), scored
    against ``{data_root}/{gt_dir}`` (None: not scored)."""
    cam_dir = ctx.output_of(name, cams, INPUT_ARGS['cams'])
    out_dir = osp.abspath(osp.join(ctx.stage_dir(name), 'labels'))
    ids = split_ids(ctx.data_root, split)
    start = time.perf_counter()
    counts = make_label_dir(
        kind,
        cam_dir,
        osp.join(ctx.data_root, 'JPEGImages'),
        ids,
        out_dir,
        workers=workers,
        **(label_options or {}),
    )
    result = dict(kind=f'{kind} labels', out_dir=out_dir, scored_on=split, **counts)
    result['seconds'] = round(time.perf_counter() - start, 1)
    if gt_dir is not None:
        gt_dir = osp.join(ctx.data_root, gt_dir)
        num_classes = len(dataset_classes(ctx.data_root))
        scores = score_label_dir(out_dir, gt_dir, ids, num_classes)
        result['metrics'] = {
            k: v for k, v in scores.items() if not isinstance(v, list | dict)
        }
    return result


def _train_labels_options(cfg: Config, label_dir: str) -> dict:
    """Config overrides that train on ``label_dir``'s masks."""
    dataset = cfg.train_dataloader.dataset
    if dataset.get('type') == 'PseudoLabelDataset':
        return {'train_dataloader.dataset.pseudo_dir': label_dir}
    return {'train_dataloader.dataset.data_prefix.seg_map_path': label_dir}


def _train_test_stage(
    ctx: PipelineContext,
    name: str,
    config: str,
    cams: str | None = None,
    train_labels: str | None = None,
    validate: bool = False,
    cfg_options: dict | None = None,
) -> dict:
    """Train a config's model and run its test loop (export + metrics)."""
    options = dict(cfg_options or {})
    cfg = Config.fromfile(config)
    cfg.merge_from_dict(options)
    transform_args = {}
    if cams is not None:
        cam_dir = ctx.output_of(name, cams, INPUT_ARGS['cams'])
        transform_args['LoadCAMs'] = dict(cam_dir=cam_dir)
    if train_labels is not None:
        label_dir = ctx.output_of(name, train_labels, INPUT_ARGS['train_labels'])
        options.update(_train_labels_options(cfg, label_dir))
    result = run_train_test_stage(
        config,
        ctx.stage_dir(name),
        ctx.data_root,
        cfg_options=options,
        manifest='train_test.json',
        validate=validate,
        transform_args=transform_args,
    )
    result.pop('skipped', None)
    # the split the test loop scored, after cfg_options (e.g. VOC's train_aug)
    split = osp.splitext(osp.basename(cfg.test_dataloader.dataset.ann_file))[0]
    result.update(
        kind=osp.basename(osp.dirname(config)),
        scored_on=split,
        metrics=result.pop('test'),
        seconds=round(result['train_s'] + result['export_s'], 1),
        out_dir=result.get('out_dir') or ctx.stage_dir(name),
    )
    return result


#: Stage types of a pipeline config: ``type`` -> function(ctx, name, **args).
STAGE_TYPES: dict[str, Callable[..., dict]] = {
    'FashionPaste': _fashionpaste_stage,
    'Labels': _labels_stage,
    'TrainTest': _train_test_stage,
}


def _check_stages(stages: list[dict]) -> None:
    seen: list[str] = []
    for stage in stages:
        name, kind = stage.get('name'), stage.get('type')
        if not name or name in seen:
            raise ValueError(f'every stage needs a unique name; got {name!r} twice')
        if kind not in STAGE_TYPES:
            raise KeyError(
                f'stage {name!r}: unknown type {kind!r}; known: {sorted(STAGE_TYPES)}'
            )
        for arg in INPUT_ARGS:
            ref = stage.get(arg)
            if ref is not None and ref not in seen:
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


def run_pipeline(
    cfg: Config | str,
    from_stage: str | None = None,
    only: str | None = None,
    report: bool = True,
) -> dict[str, dict]:
    """Run the stages of a pipeline config in order.

    Args:
        cfg (Config | str): Pipeline config (``data_root``, ``work_dir``,
            ``stages``; optional ``stage_options``: ``{stage name: {argument:
            value}}`` overrides, e.g. from an inheriting config, and
            ``report``: ``num_samples`` / ``split`` of the sample grid) or its
            path.
        from_stage (str, optional): Rerun this stage and every later one afresh.
        only (str, optional): Rerun only this stage afresh (its inputs must be
            finished).
        report (bool): Write the report into ``{work_dir}/report``. Default: True.

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
    for wanted in (from_stage, only):
        if wanted is not None and wanted not in names:
            raise KeyError(f'no stage named {wanted!r}; stages: {names}')
    if only:
        forced = {only}
    elif from_stage:
        forced = set(names[names.index(from_stage) :])
    else:
        forced = set()
    ctx = PipelineContext(cfg.data_root, cfg.work_dir)
    os.makedirs(ctx.work_dir, exist_ok=True)
    for position, stage in enumerate(stages, 1):
        name = stage.pop('name')
        kind = stage.pop('type')
        manifest_path = osp.join(ctx.stage_dir(name), MANIFEST)
        settings = dict(type=kind, data_root=ctx.data_root, **stage)
        for arg in INPUT_ARGS:
            if stage.get(arg) in ctx.results:
                # a changed input (rerun producer) makes this stage stale too
                settings[f'{arg}_digest'] = ctx.results[stage[arg]].get('digest')
        digest = _digest(settings)
        done = _read_json(manifest_path)
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
        if name in forced or (done is not None and not same):
            # a rerun, or settings / inputs changed: start afresh (an
            # interrupted run of the same settings resumes instead)
            _keep_old(ctx.stage_dir(name))
        print_log(f'[{position}/{len(stages)}] {name} ({kind})', logger='current')
        os.makedirs(ctx.stage_dir(name), exist_ok=True)
        write_json(manifest_path, dict(name=name, digest=digest, finished=False))
        result = STAGE_TYPES[kind](ctx, name, **stage)
        result.update(name=name, type=kind, digest=digest, finished=True)
        result['inputs'] = {arg: stage[arg] for arg in INPUT_ARGS if arg in stage}
        write_json(manifest_path, result)
        ctx.results[name] = result
    if report:
        from .report import write_report

        write_report(cfg, ctx.results)
    return ctx.results
