"""A resumable test loop that exports each prediction to disk."""

from __future__ import annotations

import copy
import os.path as osp

import torch
from mmengine.dist import barrier, is_main_process
from mmengine.logging import print_log
from mmengine.runner import TestLoop
from mmengine.runner.amp import autocast

from ..registry import EXPORTERS, LOOPS
from ..utils.provenance import (
    check_or_reset,
    config_digest,
    data_digest,
    file_info,
    input_digest,
    state_dict_digest,
)


def exporter_dirs(exporter) -> list[str]:
    """The output folders of an exporter (each of a ``CompositeExporter``)."""
    if hasattr(exporter, 'exporters'):  # CompositeExporter
        return [d for e in exporter.exporters for d in exporter_dirs(e)]
    return [exporter.out_dir] if getattr(exporter, 'out_dir', None) else []


def _tested_checkpoint(runner) -> str | None:
    """The checkpoint the runner's weights come from: ``load_from``, else the
    work dir's last checkpoint (weights trained or resumed in this runner)."""
    if runner.cfg.get('load_from'):
        return runner.cfg.load_from
    pointer = osp.join(runner.work_dir, 'last_checkpoint')
    if osp.isfile(pointer):
        with open(pointer) as f:
            return f.read().strip() or None
    return None


def _pipeline_inputs(cfg) -> dict[str, str]:
    """Provenance digests of the folders the test pipeline reads besides the
    dataset: ``*_dir`` arguments of its transforms that name a folder (e.g.
    ``LoadCAMs.cam_dir``), by ``{transform}.{argument}``."""
    dataset = (cfg.get('test_dataloader') or {}).get('dataset') or {}
    while 'pipeline' not in dataset and 'dataset' in dataset:  # wrappers
        dataset = dataset['dataset']
    inputs = {}
    for step in dataset.get('pipeline') or []:
        for key, value in step.items():
            if key.endswith('_dir') and isinstance(value, str) and osp.isdir(value):
                inputs[f'{step.get("type")}.{key}'] = input_digest(value)
    return inputs


def _data_content(data_root: str | None) -> str | None:
    """:func:`~mmwsss.utils.provenance.data_digest` of a dataset root (None for
    a dataset without one on disk)."""
    return data_digest(data_root) if data_root and osp.isdir(data_root) else None


def _base_dataset(dataset):
    """The innermost dataset of dataset wrappers (the one with ``ann_file``)."""
    while not hasattr(dataset, 'ann_file') and hasattr(dataset, 'dataset'):
        dataset = dataset.dataset
    return dataset


@LOOPS.register_module()
class ExportTestLoop(TestLoop):
    """Test loop that writes every prediction through an exporter.

    Each output folder records what made its files in ``provenance.json``
    (see :mod:`mmwsss.utils.provenance`): the digest of the runner's config
    (without run names such as ``work_dir`` and ``load_from``), of the model's
    weights as tested (so a checkpoint loaded from ``load_from`` and weights
    trained in the same runner are treated alike), the exporter's config, the
    test dataset and the provenance digests of the folders its pipeline reads
    (e.g. ``LoadCAMs``' ``cam_dir``). Same config, weights and inputs: images
    whose output file already exists are not run through the model again, the
    file is loaded and handed to the evaluator, so an interrupted export
    resumes where it stopped and still scores the whole split. Anything else:
    the old folder is moved aside to ``{out_dir}.old-{time}`` and every image
    is exported afresh, so the metrics score this run's predictions only.
    Under DDP each rank exports the shard its sampler gives it. ``{work_dir}``
    in the exporter's and metrics' ``out_dir`` is replaced by the runner's
    work dir.

    Args:
        runner (Runner): The runner.
        dataloader (DataLoader | dict): The test dataloader.
        evaluator (Evaluator | dict | list): The evaluator.
        exporter (dict): Exporter config, e.g. ``dict(type='CAMExporter',
            out_dir='{work_dir}/cams')``.
        skip_existing (bool): Reuse files already written by the same config
            and weights. Default: True.
        fp16 (bool): Run the model under autocast. Default: False.
    """

    def __init__(
        self,
        runner,
        dataloader,
        evaluator,
        exporter: dict,
        skip_existing: bool = True,
        fp16: bool = False,
    ) -> None:
        super().__init__(runner, dataloader, evaluator, fp16)
        self.exporter_cfg = copy.deepcopy(exporter)
        self.exporter = EXPORTERS.build(exporter)
        self.exporter.prepare(runner.work_dir)
        self.skip_existing = skip_existing
        for metric in self.evaluator.metrics:
            out_dir = getattr(metric, 'out_dir', None)
            if isinstance(out_dir, str):
                metric.out_dir = out_dir.format(work_dir=runner.work_dir)
        self.num_reused = 0
        self.num_written = 0
        self.provenance_digest = None

    def provenance(self) -> dict:
        """The provenance record of this export (call after the weights are
        loaded: ``Runner.test`` loads them before running the loop)."""
        runner = self.runner
        dataset = _base_dataset(self.dataloader.dataset)
        checkpoint = _tested_checkpoint(runner)
        return dict(
            kind='export',
            config=config_digest(runner.cfg),
            weights=state_dict_digest(runner.model),
            exporter=self.exporter_cfg,
            inputs=_pipeline_inputs(runner.cfg),
            data=dict(
                data_root=getattr(dataset, 'data_root', None),
                ann_file=getattr(dataset, 'ann_file', None),
                num_images=len(self.dataloader.dataset),
                content=_data_content(getattr(dataset, 'data_root', None)),
            ),
            info=dict(
                checkpoint=file_info(checkpoint)
                if checkpoint and osp.isfile(checkpoint)
                else checkpoint,
                work_dir=osp.abspath(runner.work_dir),
            ),
        )

    def check_provenance(self) -> None:
        """Keep the output folders of the same config and weights, move others
        aside (on the main process; the other ranks wait)."""
        if is_main_process():
            record = self.provenance()
            for folder in exporter_dirs(self.exporter):
                self.provenance_digest = check_or_reset(folder, record)['digest']
        barrier()

    def run(self) -> dict:
        self.num_reused = self.num_written = 0
        self.check_provenance()
        metrics = super().run()
        print_log(
            f'{type(self.exporter).__name__}: wrote {self.num_written}, reused '
            f'{self.num_reused} existing file(s) in {self.exporter.out_dir}',
            logger='current',
        )
        return metrics

    @torch.no_grad()
    def run_iter(self, idx, data_batch: dict) -> None:
        self.runner.call_hook('before_test_iter', batch_idx=idx, data_batch=data_batch)
        samples = data_batch['data_samples']
        if self.skip_existing and all(
            self.exporter.exists(s.metainfo) for s in samples
        ):
            outputs = [self.exporter.load(s) for s in samples]
            self.num_reused += len(outputs)
        else:
            with autocast(enabled=self.fp16):
                outputs = self.runner.model.test_step(data_batch)
            for output in outputs:
                self.exporter.save(output)
            self.num_written += len(outputs)
        self.evaluator.process(data_samples=outputs, data_batch=data_batch)
        self.runner.call_hook(
            'after_test_iter', batch_idx=idx, data_batch=data_batch, outputs=outputs
        )
