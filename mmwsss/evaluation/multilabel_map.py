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
    """Classification mAP of ``pred_scores`` against ``gt_img_labels``, and
    ``mAP_chance``: the mAP a ranking that ignores the images would get in
    expectation (each class's AP is its share of positive images, averaged
    over the classes that have one), the floor a classifier left at the label
    prior stays near.

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
        present = targets.sum(axis=0) > 0
        chance = targets.mean(axis=0)[present].mean() if present.any() else np.nan
        return {
            'mAP': round(float(np.nanmean(aps)) * 100, 2),
            'mAP_chance': round(float(chance) * 100, 2),
        }


#: a validated classifier under this share of the way from chance to a perfect
#: mAP (:func:`learned_share`) gets a loud warning in the log and the report
LEARNED_WARNING = 0.4


def learned_share(metrics: dict, key: str = 'cls') -> float | None:
    """How far a classifier's mAP got from chance towards 100, in [.., 1]:
    ``(mAP - chance) / (100 - chance)`` from the ``{key}/mAP`` and
    ``{key}/mAP_chance`` of ``metrics``; None when they are missing."""
    m_ap, chance = metrics.get(f'{key}/mAP'), metrics.get(f'{key}/mAP_chance')
    if m_ap is None or chance is None or chance >= 100:
        return None
    return (m_ap - chance) / (100.0 - chance)
