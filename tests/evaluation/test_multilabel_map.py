import numpy as np
import pytest
import torch
from sklearn.metrics import average_precision_score

from mmwsss.evaluation import MultiLabelMAPMetric, average_precision


def test_average_precision_matches_sklearn():
    rng = np.random.default_rng(0)
    for _ in range(5):
        scores = rng.random(40)
        targets = (rng.random(40) < 0.3).astype(int)
        targets[0] = 1
        assert average_precision(scores, targets) == pytest.approx(
            average_precision_score(targets, scores)
        )
    assert np.isnan(average_precision(np.ones(3), np.zeros(3)))


def test_metric_perfect_and_reversed():
    metric = MultiLabelMAPMetric()
    metric.dataset_meta = dict(classes=('background', 'a', 'b'))
    samples = [
        dict(pred_scores=torch.tensor([0.9, 0.1]), gt_img_labels=torch.tensor([1])),
        dict(pred_scores=torch.tensor([0.2, 0.8]), gt_img_labels=torch.tensor([2])),
        dict(pred_scores=torch.tensor([0.7, 0.6]), gt_img_labels=torch.tensor([1, 2])),
    ]
    metric.process({}, samples)
    assert metric.evaluate(3)['cls/mAP'] == 100.0
    wrong = dict(
        pred_scores=torch.tensor([0.1, 0.2, 0.3]), gt_img_labels=torch.tensor([1])
    )
    with pytest.raises(ValueError, match='2 foreground classes'):
        metric.process({}, [wrong])
