"""``DetTrainTest``: train an mmdet config's model on COCO json instances.

The config (``default_scope = 'mmdet'``, ``_base_ = ['mmdet::...']``) runs in
the same process as the mmseg stages: mmengine's ``Runner`` sets the config's
default scope, so mmdet's registries build its model, datasets and metrics
while the earlier and later runners of the process build mmseg's::

    dict(name='gt_val', type='CocoGT', split='val'),
    dict(name='maskrcnn', type='DetTrainTest', config='configs/mask_rcnn/...',
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

from mmengine.config import Config

from ...registry import STAGES
from ..context import CheckpointInput, CocoJsonInput, ThresholdsInput
from ..runner_stage import is_mmdet_config
from .base import ConfigStage, annotated_dataset


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


def ann_file_options(cfg: Config, train: str | None, val: str | None) -> dict:
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


def split_name(ann_file: str) -> str:
    """``'instances_val'`` -> ``'val'``: the split a COCO json holds."""
    stem = osp.splitext(osp.basename(ann_file))[0]
    return stem.removeprefix('instances_')


@STAGES.register_module()
class DetTrainTest(ConfigStage):
    """Train an mmdet config's model on COCO json instances and test it (see
    the module doc); ``thresholds``, ``init_from``, ``validate``,
    ``val_interval`` and ``cfg_options`` as for ``TrainTest``."""

    trains = True
    inputs = dict(
        train_instances=CocoJsonInput('training instances'),
        val_instances=CocoJsonInput('ground-truth instances'),
        thresholds=ThresholdsInput(),
        init_from=CheckpointInput(),
    )
    on_all_ranks = True

    def run(
        self,
        ctx,
        config: str,
        train_instances: str | None = None,
        val_instances: str | None = None,
        thresholds: dict | None = None,
        init_from: str | None = None,
        validate: bool = False,
        val_interval: int | None = None,
        cfg_options: dict | None = None,
    ) -> dict:
        if not is_mmdet_config(self.cfg):
            raise ValueError(
                f'stage {self.name!r}: {config} is no mmdet config (default_scope '
                "'mmdet'); use type='TrainTest'"
            )
        cfg, options, _ = self.model_options(
            ctx, cfg_options, thresholds, init_from=init_from
        )
        ann_files = ann_file_options(cfg, train_instances, val_instances)
        options.update(ann_files)
        cfg.merge_from_dict(ann_files)
        result = self.train_and_test(
            ctx, cfg, options, thresholds, validate, val_interval
        )
        _, test_dataset = annotated_dataset(cfg, 'test_dataloader')
        result['scored_on'] = split_name(test_dataset.ann_file)
        if train_instances is not None:
            with open(train_instances) as f:
                coco = json.load(f)
            result['train_annotations'] = dict(
                file=train_instances,
                images=len(coco['images']),
                instances=len(coco['annotations']),
            )
        return result
