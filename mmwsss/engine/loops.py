"""A resumable test loop that exports each prediction to disk."""

from __future__ import annotations

import torch
from mmengine.logging import print_log
from mmengine.registry import LOOPS, TASK_UTILS
from mmengine.runner import TestLoop
from mmengine.runner.amp import autocast


@LOOPS.register_module()
class ExportTestLoop(TestLoop):
    """Test loop that writes every prediction through an exporter.

    Images whose output file already exists are not run through the model
    again: the file is loaded and handed to the evaluator, so an interrupted
    export resumes where it stopped and still scores the whole split. Under DDP
    each rank exports the shard its sampler gives it. ``{work_dir}`` in the
    exporter's and metrics' ``out_dir`` is replaced by the runner's work dir.

    Args:
        runner (Runner): The runner.
        dataloader (DataLoader | dict): The test dataloader.
        evaluator (Evaluator | dict | list): The evaluator.
        exporter (dict): Exporter config, e.g. ``dict(type='CAMExporter',
            out_dir='{work_dir}/cams')``.
        skip_existing (bool): Reuse files already written. Default: True.
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
        self.exporter = TASK_UTILS.build(exporter)
        self.exporter.prepare(runner.work_dir)
        self.skip_existing = skip_existing
        for metric in self.evaluator.metrics:
            out_dir = getattr(metric, 'out_dir', None)
            if isinstance(out_dir, str):
                metric.out_dir = out_dir.format(work_dir=runner.work_dir)
        self.num_reused = 0
        self.num_written = 0

    def run(self) -> dict:
        self.num_reused = self.num_written = 0
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
