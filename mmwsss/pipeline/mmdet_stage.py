"""The instance branch of a pipeline: mmdet configs and COCO ground truth.

A ``TrainTest`` stage whose config is an mmdet config (``default_scope =
'mmdet'``, ``_base_ = ['mmdet::...']``) runs here (:func:`det_train_test_stage`)
in the same process as the mmseg stages: mmengine's ``Runner`` sets the
config's default scope, so mmdet's registries build its model, datasets and
metrics while the earlier and later runners of the process build mmseg's.
Its inputs are COCO jsons::

    dict(name='gt_val', type='CocoGT', split='val'),
    dict(name='maskrcnn', type='TrainTest', config='configs/mask_rcnn/...',
         train_instances='irn.pseudo_instances', val_instances='gt_val'),

``train_instances`` is a COCO dataset to train on: IRN's instance pseudo
labels (``'irn.pseudo_instances'``, the exporter's folder, stands for its
merged json ``'irn.pseudo_instances_coco'``, see
:mod:`mmwsss.pipeline.instance_coco`) or any stage output that is a COCO
json; it becomes the train dataset's ``ann_file``. ``val_instances`` (a
``CocoGT`` stage: the split's ground-truth instances) becomes the val / test
datasets' and the COCO metrics' ``ann_file``. The manifest's ``metrics`` are
mmdet's (``coco/bbox_mAP``, ``coco/bbox_mAP_50``, ``coco/segm_mAP``, ...,
fractions in 0..1; -1 where COCO has no instance of an area range).
"""

from __future__ import annotations

import json
import os.path as osp
import time

from mmengine.config import Config

from ..datasets.coco_gt import write_coco_gt
from ..registry import STAGES
from .instance_coco import COCO_SUFFIX
from .runner_stage import run_train_test_stage
from .stage_runner import (
    INPUT_ARGS,
    PipelineContext,
    _last_checkpoint,
    _model_options,
    _model_result,
    annotated_dataset,
)

MMDET_SCOPE = 'mmdet'


def is_mmdet_config(cfg: Config) -> bool:
    """Whether ``cfg`` is an mmdet config (its default scope is mmdet's)."""
    return cfg.get('default_scope') == MMDET_SCOPE


@STAGES.register_module('CocoGT')
def _coco_gt_stage(
    ctx: PipelineContext,
    name: str,
    split: str = 'val',
    object_dir: str = 'SegmentationObject',
    class_dir: str = 'SegmentationClass',
) -> dict:
    """Write a split's ground-truth instances as a COCO json (output
    ``coco_json``, :func:`mmwsss.datasets.coco_gt.write_coco_gt`)."""
    start = time.perf_counter()
    out_dir = osp.abspath(ctx.stage_dir(name))
    path = osp.join(out_dir, f'instances_{split}.json')
    coco = write_coco_gt(
        ctx.data_root, split, path, object_dir=object_dir, class_dir=class_dir
    )
    return dict(
        kind='coco ground truth',
        out_dir=out_dir,
        outputs=dict(coco_json=path),
        scored_on=split,
        counts=dict(images=len(coco['images']), instances=len(coco['annotations'])),
        categories=[c['name'] for c in coco['categories']],
        seconds=round(time.perf_counter() - start, 1),
    )


def _coco_json(ctx: PipelineContext, consumer: str, ref: str, arg: str) -> str:
    """The COCO json that input ``ref`` names: a stage output that is a json
    file, a stage's only json output, or an instance folder's merged json."""
    result = ctx.result_of(consumer, ref, INPUT_ARGS[arg])
    producer, _, output = ref.partition('.')
    outputs = result.get('outputs') or {}
    jsons = sorted(k for k, v in outputs.items() if str(v).endswith('.json'))
    if not output and len(jsons) == 1:
        output = jsons[0]
    elif output and output + COCO_SUFFIX in outputs:
        output += COCO_SUFFIX  # an instance folder stands for its merged json
    path = ctx.output_of(consumer, f'{producer}.{output}' if output else ref, arg)
    if not (osp.isfile(path) and path.endswith('.json')):
        raise ValueError(
            f'stage {consumer!r}: {arg}={ref!r} is {path}, not a COCO json; name '
            f'one of the json outputs of stage {producer!r}: {jsons}'
        )
    # absolute: mmdet joins a relative ann_file to the dataset's data_root
    return osp.abspath(path)


def _evaluator_keys(cfg: Config, evaluator: str) -> list[str]:
    """Config keys of the ``ann_file`` of an evaluator's metrics that read one
    (mmdet's ``CocoMetric``; one without reads the dataset's)."""
    metrics = cfg.get(evaluator)
    if metrics is None:
        return []
    if isinstance(metrics, dict):
        return [f'{evaluator}.ann_file'] if 'ann_file' in metrics else []
    return [
        f'{evaluator}.{i}.ann_file' for i, m in enumerate(metrics) if 'ann_file' in m
    ]


def _ann_file_options(cfg: Config, train: str | None, val: str | None) -> dict:
    """Config overrides that train on ``train`` and validate / test (datasets
    and COCO metrics) on ``val``."""
    options = {}
    if train is not None:
        key, _ = annotated_dataset(cfg, 'train_dataloader')
        options[f'{key}.ann_file'] = train
    if val is not None:
        for loader in ('val_dataloader', 'test_dataloader'):
            if cfg.get(loader) is not None:
                key, _ = annotated_dataset(cfg, loader)
                options[f'{key}.ann_file'] = val
        for evaluator in ('val_evaluator', 'test_evaluator'):
            options.update(dict.fromkeys(_evaluator_keys(cfg, evaluator), val))
    return options


def _split_name(ann_file: str) -> str:
    """``'instances_val'`` -> ``'val'``: the split a COCO json holds."""
    stem = osp.splitext(osp.basename(ann_file))[0]
    return stem.removeprefix('instances_')


def det_train_test_stage(
    ctx: PipelineContext,
    name: str,
    config: str,
    train_instances: str | None = None,
    val_instances: str | None = None,
    thresholds: str | None = None,
    init_from: str | None = None,
    validate: bool = False,
    val_interval: int | None = None,
    cfg_options: dict | None = None,
    **seg_inputs,
) -> dict:
    """Train an mmdet config's model on COCO json instances and test it.

    Args:
        ctx (PipelineContext): The pipeline's shared state.
        name (str): The stage's name.
        config (str): An mmdet config file.
        train_instances (str, optional): Input whose COCO json the model
            trains on (see the module doc). Default: None (the config's).
        val_instances (str, optional): Input whose COCO json the model is
            validated and tested on. Default: None (the config's).
        thresholds, init_from, validate, val_interval, cfg_options: As for
            any ``TrainTest`` stage.
        **seg_inputs: The segmentation inputs of ``TrainTest`` (``cams``,
            ``train_labels``); set, they are an error.

    Returns:
        dict: The stage's manifest fields, mmdet's COCO metrics as
        ``metrics``.
    """
    given = sorted(k for k, v in seg_inputs.items() if v is not None)
    if given:
        raise ValueError(
            f'stage {name!r}: {config} is an mmdet config; it takes COCO json '
            f'inputs (train_instances=, val_instances=), not {given}'
        )
    cfg, options, _, found = _model_options(
        ctx, name, config, None, None, thresholds, init_from, cfg_options
    )
    train = val = None
    if train_instances is not None:
        train = _coco_json(ctx, name, train_instances, 'train_instances')
    if val_instances is not None:
        val = _coco_json(ctx, name, val_instances, 'val_instances')
    ann_files = _ann_file_options(cfg, train, val)
    options.update(ann_files)
    cfg.merge_from_dict(ann_files)
    stage_dir = ctx.stage_dir(name)
    result = run_train_test_stage(
        config,
        stage_dir,
        ctx.data_root,
        cfg_options=options,
        manifest='train_test.json',
        validate=validate,
        val_interval=val_interval,
        launcher=ctx.launcher,
    )
    result = _model_result(ctx, name, config, cfg, result, options, found)
    result['checkpoint'] = _last_checkpoint(stage_dir)
    _, test_dataset = annotated_dataset(cfg, 'test_dataloader')
    result['scored_on'] = _split_name(test_dataset.ann_file)
    if train is not None:
        with open(train) as f:
            coco = json.load(f)
        result['train_annotations'] = dict(
            file=train, images=len(coco['images']), instances=len(coco['annotations'])
        )
    return result
