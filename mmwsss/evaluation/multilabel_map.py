"""Mean average precision of image-level class scores."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric

from ..registry import METRICS


def average_precision(scores: np.ndarray, targets: np.ndarray) -> float:
    """Non-interpolated AP of one class: mean precision at each positive.

    Ties are broken by putting negatives first (a pessimistic, order-free rule).
    Returns NaN when there is no positive.
    """
    num_pos = int(targets.sum())
    if num_pos == 0:
        return float('nan')
    order = np.lexsort((targets, -scores))  # by score desc, negatives first in ties
    hits = targets[order].astype(np.float64)
    precision = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    return float((precision * hits).sum() / num_pos)


@METRICS.register_module()
class MultiLabelMAPMetric(BaseMetric):
    """Classification mAP of ``pred_scores`` against ``gt_img_labels``.

    Args:
        collect_device (str): Device for collecting across ranks. Default: 'cpu'.
        prefix (str, optional): Metric name prefix. Default: None ('cls').
    """

    default_prefix = 'cls'

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        num_fg = len(self.dataset_meta['classes']) - 1
        for sample in data_samples:
            scores = torch.as_tensor(sample['pred_scores']).float().cpu().numpy()
            if scores.shape != (num_fg,):
                raise ValueError(
                    f'the model scores {scores.shape[0]} classes but the dataset has '
                    f'{num_fg} foreground classes'
                )
            target = np.zeros(num_fg, dtype=np.int64)
            labels = torch.as_tensor(sample['gt_img_labels']).long().numpy()
            target[labels - 1] = 1
            self.results.append((scores, target))

    def compute_metrics(self, results: list) -> dict[str, float]:
        scores = np.stack([r[0] for r in results])
        targets = np.stack([r[1] for r in results])
        aps = [
            average_precision(scores[:, c], targets[:, c])
            for c in range(scores.shape[1])
        ]
        return {'mAP': round(float(np.nanmean(aps)) * 100, 2)}
