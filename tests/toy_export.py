"""A toy model, dataset, metric and hook for export-loop and stage tests.

Four 2x2 "images" whose predicted label map is the model's single weight,
rounded: two checkpoints with other weights export other PNGs. ``CONFIG`` is a
config file's text (``default_scope = 'mmengine'``) that trains for 4
iterations, checkpoints every 2 and exports through ``ExportTestLoop``.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
from mmengine.evaluator import BaseMetric
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.registry import DATASETS, HOOKS, METRICS, MODELS
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample
from torch.utils.data import Dataset

import mmwsss  # noqa: F401  (registers ExportTestLoop and the exporters)


@MODELS.register_module(force=True)
class ToyExportModel(BaseModel):
    """``weight * x`` regressed on ``2 * x``; predicts ``round(weight)``."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.tensor(1.0))

    def forward(self, inputs, data_samples=None, mode: str = 'tensor'):
        x = torch.stack(inputs)  # [n, 1]
        if mode == 'loss':
            return dict(loss=((self.weight * x - 2 * x) ** 2).mean())
        label = int(self.weight.detach().round().clamp(0, 254))
        for sample in data_samples:
            sample.pred_sem_seg = PixelData(data=torch.full((1, 2, 2), label))
        return data_samples


@DATASETS.register_module(force=True)
class ToyExportDataset(Dataset):
    """Four samples ``toy/img_{i}.jpg`` with input ``[i / 4]``."""

    metainfo = dict(classes=('background', 'thing'))

    def __len__(self) -> int:
        return 4

    def __getitem__(self, idx: int) -> dict:
        sample = SegDataSample(metainfo=dict(img_path=f'toy/img_{idx}.jpg'))
        return dict(inputs=torch.tensor([idx / 4]), data_samples=sample)


@METRICS.register_module(force=True)
class ToyExportMetric(BaseMetric):
    """Mean predicted label; the last result is kept in ``ToyExportMetric.last``."""

    last: dict | None = None

    def process(self, data_batch, data_samples) -> None:
        for sample in data_samples:
            self.results.append(float(sample['pred_sem_seg']['data'].float().mean()))

    def compute_metrics(self, results: list) -> dict:
        type(self).last = dict(mean_label=float(np.mean(results)))
        return type(self).last


@HOOKS.register_module(force=True)
class ToyStageProbe(Hook):
    """Records the iteration training starts from; fails where a test asks.

    Class attributes (not config, so the config stays the same): ``starts``
    (``runner.iter`` at ``before_train``), ``fail_train_iter`` (raise after
    that training iteration, before its checkpoint) and ``fail_test_batch``
    (raise after that test batch is exported).
    """

    starts: list[int] = []
    fail_train_iter: int | None = None
    fail_test_batch: int | None = None

    def before_train(self, runner) -> None:
        type(self).starts.append(runner.iter)

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if runner.iter == type(self).fail_train_iter:
            raise RuntimeError(f'interrupted in training iteration {runner.iter}')

    def after_test_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if batch_idx == type(self).fail_test_batch:
            raise RuntimeError(f'interrupted after test batch {batch_idx}')


CONFIG = """
default_scope = 'mmengine'
model = dict(type='ToyExportModel')
_loader = dict(
    dataset=dict(type='ToyExportDataset'),
    sampler=dict(type='DefaultSampler', shuffle=False),
    batch_size=2,
    num_workers=0,
)
train_dataloader = _loader
test_dataloader = _loader
test_evaluator = dict(type='ToyExportMetric')
test_cfg = dict(
    type='ExportTestLoop',
    _scope_='mmwsss',  # mmwsss's loop in a config of another scope
    exporter=dict(type='LabelPNGExporter', out_dir='{work_dir}/preds'),
)
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.1))
train_cfg = dict(type='IterBasedTrainLoop', max_iters=4)
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', interval=2, by_epoch=False),
    logger=dict(type='LoggerHook', interval=1),
)
custom_hooks = [dict(type='ToyStageProbe')]
randomness = dict(seed=0)
"""


def save_weight_checkpoint(path: str, weight: float) -> str:
    """A checkpoint of :class:`ToyExportModel` with the given weight."""
    torch.save(dict(meta=dict(), state_dict=dict(weight=torch.tensor(weight))), path)
    return path
