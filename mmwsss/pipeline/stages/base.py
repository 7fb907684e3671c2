"""The base of every stage kind: declared inputs, settings checked at build.

A stage kind is a class registered in :data:`mmwsss.registry.STAGES`. It
declares

- ``inputs``: ``{argument: Input}``, the arguments that name earlier stages'
  outputs (:mod:`mmwsss.pipeline.context`); the runner resolves them to what
  the producers wrote and passes the resolved values (folders, files,
  checkpoints, thresholds) to :meth:`BaseStage.run`;
- ``on_all_ranks``: whether every rank of a distributed pipeline runs it (each
  its share) or rank 0 alone while the others wait;
- ``makes_data``: whether it writes the dataset root (the data digest of the
  later stages is taken after it);

and implements ``run(self, ctx, **arguments)`` with its arguments as keyword
parameters, returning the stage's result (the manifest's fields). A new kind
is one file with one class and a pipeline config that names it.
"""

from __future__ import annotations

import copy
import inspect
import json
import os.path as osp

from mmengine.config import Config

from ...datasets import dataset_classes
from ...evaluation import score_label_dir
from ...utils.provenance import PROJECT, config_digest
from ..context import Input, PipelineContext, oracle_refs
from ..instance_coco import merge_stage_instances
from ..runner_stage import run_train_test_stage


def json_form(value):
    """``value`` as JSON gives it back (tuples as lists): how a manifest
    holds it."""
    return json.loads(json.dumps(value))


class BaseStage:
    """A stage of a pipeline config: its name and arguments.

    Args:
        name (str): The stage's unique name in its pipeline.
        **settings: The kind's arguments (those of its :meth:`run`).

    Raises:
        TypeError: If ``settings`` miss a required argument of the kind or
            name one it does not have.
    """

    #: Arguments that name other stages' outputs.
    inputs: dict[str, Input] = {}
    #: Every rank runs the stage (its share of the work); else rank 0 alone.
    on_all_ranks: bool = False
    #: The stage writes the dataset root.
    makes_data: bool = False
    #: The stage trains its config's model: a repeat of it
    #: (:mod:`mmwsss.pipeline.repeat`) sets the config's ``randomness.seed``.
    trains: bool = False

    def __init__(self, name: str, **settings) -> None:
        self.name = name
        self.settings = settings
        try:
            inspect.signature(self.run).bind(None, **settings)
        except TypeError as e:
            params = [p for p in inspect.signature(self.run).parameters if p != 'ctx']
            raise TypeError(
                f'stage {name!r} ({type(self).__name__}): {e}; its arguments: '
                f'{params}'
            ) from None
        for arg, spec in self.inputs.items():
            spec.refs(settings.get(arg))  # one reference where one is taken

    def input_refs(self) -> list[tuple[str, str]]:
        """``(argument, reference)`` of every declared input that is set, and
        ``('oracle', 'STAGE:METRIC')`` for each oracle value in the settings."""
        refs = [
            (arg, ref)
            for arg, spec in self.inputs.items()
            for ref in spec.refs(self.settings.get(arg))
        ]
        refs += [('oracle', ref) for ref in oracle_refs(self.settings)]
        return refs

    def resolve_inputs(self, ctx: PipelineContext) -> tuple[dict, dict]:
        """Resolve every declared input that is set.

        Returns:
            tuple[dict, dict]: The resolved values by argument (a list for a
            list argument) and their content digests (the same shape), the
            oracle references' values included under ``'oracle'``.
        """
        values, digests = {}, {}
        for arg, spec in self.inputs.items():
            value = self.settings.get(arg)
            if value is None:
                continue
            resolved = [spec.resolve(ctx, self.name, ref) for ref in spec.refs(value)]
            found = [spec.digest(v) for v in resolved]
            if isinstance(value, list | tuple):
                values[arg], digests[arg] = resolved, found
            else:
                values[arg], digests[arg] = resolved[0], found[0]
        oracles = {
            ref: ctx.metric_of(self.name, ref) for ref in oracle_refs(self.settings)
        }
        if oracles:
            digests['oracle'] = oracles
        return values, digests

    def config_digests(self, root_as: str | None = PROJECT) -> dict[str, str]:
        """Digests of the parsed content of the config files the stage runs
        (none by default); ``root_as``: how the project's folder is written
        (:func:`~mmwsss.utils.provenance.config_digest`)."""
        return {}

    def recorded_settings(self) -> dict:
        """The settings as the stage's record holds them (all of them by
        default), in their JSON form (a tuple as a list), so that a record
        read back from its manifest compares equal to a fresh one."""
        return json_form(self.settings)

    def execute(self, ctx: PipelineContext, resolved: dict, digest: str) -> dict:
        """Run the stage with its inputs ``resolved`` (the runner's call)."""
        self.digest = digest
        return self.run(ctx, **{**self.settings, **resolved})

    def run(self, ctx: PipelineContext, **arguments) -> dict:
        """Do the stage's work; return its result (manifest fields)."""
        raise NotImplementedError


class ConfigStage(BaseStage):
    """A stage that runs an mmengine config (``config=``): parsed once, its
    content in the digest."""

    @property
    def cfg(self) -> Config:
        """The stage's config file, parsed (once)."""
        if getattr(self, '_cfg', None) is None:
            self._cfg = Config.fromfile(self.settings['config'])
        return self._cfg

    def config_digests(self, root_as: str | None = PROJECT) -> dict[str, str]:
        return {'config': config_digest(self.cfg, root_as=root_as)}

    def recorded_settings(self) -> dict:
        """The settings with the config file by name: its content is in
        :meth:`config_digests`, and where the project lives (a clone, a
        worktree, another machine) must not rerun a stage."""
        return json_form(
            dict(self.settings, config=osp.basename(self.settings['config']))
        )

    def parsed(self, options: dict | None = None) -> Config:
        """A copy of the parsed config with ``options`` merged."""
        cfg = copy.deepcopy(self.cfg)
        if options:
            cfg.merge_from_dict(options)
        return cfg

    def model_options(
        self,
        ctx: PipelineContext,
        cfg_options: dict | None,
        thresholds: dict | None = None,
        cams: str | None = None,
        train_labels: str | None = None,
        init_from: str | None = None,
    ) -> tuple[Config, dict, dict]:
        """The parsed config with ``cfg_options``, and the overrides and
        transform arguments that point it at the resolved inputs.

        Args:
            ctx (PipelineContext): The running pipeline.
            cfg_options (dict, optional): The stage's config overrides;
                ``'auto:KEY'`` values are read from ``thresholds``.
            thresholds (dict, optional): Resolved thresholds.
            cams (str, optional): CAM folder, set as ``LoadCAMs.cam_dir``.
            train_labels (str, optional): Label folder the model trains on
                (a ``PseudoLabelDataset``'s ``pseudo_dir``, else the train
                dataset's ``seg_map_path``).
            init_from (str, optional): Checkpoint whose ``backbone.*`` weights
                start the backbone (e.g. the CAM classifier's).

        Returns:
            tuple[Config, dict, dict]: The config (``cfg_options`` merged),
            every override (``cfg_options`` resolved, then the inputs') and
            ``{transform: arguments}``.
        """
        options = ctx.resolve(self.name, dict(cfg_options or {}), thresholds)
        cfg = self.parsed(options)
        transform_args = {}
        if cams is not None:
            transform_args['LoadCAMs'] = dict(cam_dir=cams)
        if train_labels is not None:
            if cfg.train_dataloader.dataset.get('type') == 'PseudoLabelDataset':
                options['train_dataloader.dataset.pseudo_dir'] = train_labels
            else:
                key = 'train_dataloader.dataset.data_prefix.seg_map_path'
                options[key] = train_labels
        if init_from is not None:
            options['model.backbone.init_cfg'] = dict(
                type='Pretrained', checkpoint=init_from, prefix='backbone.'
            )
            if cfg.model.backbone.get('pretrained') is True:
                # EfficientNetLite loads its ImageNet weights after init_cfg
                options['model.backbone.pretrained'] = False
        return cfg, options, transform_args

    def train_and_test(
        self,
        ctx: PipelineContext,
        cfg: Config,
        options: dict,
        thresholds: dict | None,
        validate: bool,
        val_interval: int | None,
        transform_args: dict | None = None,
    ) -> dict:
        """Train the stage's config with ``options`` in its work dir, run its
        test loop (:func:`~mmwsss.pipeline.runner_stage.run_train_test_stage`,
        the work dir recorded under the stage's digest) and return the
        manifest fields, the last checkpoint included."""
        work_dir = ctx.stage_dir(self.name)
        result = run_train_test_stage(
            self.cfg,
            work_dir,
            ctx.data_root,
            cfg_options=options,
            manifest=None,
            validate=validate,
            val_interval=val_interval,
            transform_args=transform_args,
            launcher=ctx.launcher,
            record=dict(kind='stage', stage=self.digest),
        )
        result = self.model_result(ctx, cfg, result, options, thresholds)
        result['checkpoint'] = last_checkpoint(work_dir)
        return result

    def model_result(
        self,
        ctx: PipelineContext,
        cfg: Config,
        result: dict,
        options: dict,
        thresholds: dict | None,
    ) -> dict:
        """The manifest fields of a stage that ran its config: kind (the
        config's folder), scored split, metrics, time, output folders (the
        exporters', hooks' ``out_dir`` and instance folders' merged jsons)."""
        config = self.settings['config']
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
            out_dir=result.get('out_dir') or ctx.stage_dir(self.name),
            outputs={osp.basename(d.rstrip('/')): d for d in folders},
            options=dict(options),
        )
        if thresholds is not None:
            result['thresholds'] = thresholds
        # folders written by hooks (OAAHook's accumulated maps): '{stage}.{folder}'
        for hook in cfg.get('custom_hooks') or []:
            out_dir = hook.get('out_dir') if isinstance(hook, dict) else None
            if isinstance(out_dir, str):
                path = out_dir.format(work_dir=ctx.stage_dir(self.name))
                if osp.isdir(path):
                    result['outputs'][osp.basename(path.rstrip('/'))] = osp.abspath(
                        path
                    )
        # instance folders (IRN's) as COCO datasets too: '{stage}.{folder}_coco'
        result['outputs'].update(merge_stage_instances(cfg, result, ctx.data_root))
        return result


def annotated_dataset(cfg: Config, loader: str) -> tuple[str, dict]:
    """Config key and config of the dataset of ``loader`` that has the
    ``ann_file`` (inside dataset wrappers such as ``PseudoLabelDataset`` or
    ``RepeatDataset``)."""
    key, dataset = f'{loader}.dataset', cfg[loader].dataset
    while 'ann_file' not in dataset and 'dataset' in dataset:
        key, dataset = f'{key}.dataset', dataset.dataset
    return key, dataset


def last_checkpoint(work_dir: str) -> str | None:
    """The checkpoint mmengine's CheckpointHook saved last in ``work_dir``."""
    path = osp.join(work_dir, 'last_checkpoint')
    if not osp.exists(path):
        return None
    with open(path) as f:
        ckpt = f.read().strip()
    return osp.abspath(ckpt) if osp.isfile(ckpt) else None


def score_label_stage(
    ctx: PipelineContext,
    out_dir: str,
    ids: list[str],
    gt_dir: str,
    shard: bool = False,
) -> dict:
    """A label stage's scores against ``{data_root}/{gt_dir}``: ``metrics``
    (the scalars of :func:`~mmwsss.evaluation.score_label_dir`) and
    ``per_class_iou``; with ``shard``, every rank scores its share of the
    images (every rank must call it)."""
    scores = score_label_dir(
        out_dir,
        osp.join(ctx.data_root, gt_dir),
        ids,
        len(dataset_classes(ctx.data_root)),
        shard=shard,
    )
    return dict(
        metrics={k: v for k, v in scores.items() if not isinstance(v, list | dict)},
        per_class_iou=scores.get('IoU'),
    )
