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


def test_chance_map_is_the_mean_prevalence_and_a_prior_ranking_stays_near_it():
    """Classes a (3 of 4 images), b (1 of 4), c (none): chance = the mean of
    3/4 and 1/4 over the classes with a positive. On 400 images, a ranking by
    the label frequencies alone (the same scores for every image, plus noise)
    lands near chance, and learned_share puts it near 0 where a perfect
    ranking is at 1."""
    from mmwsss.evaluation import learned_share

    def evaluate(scores, labels):
        metric = MultiLabelMAPMetric()
        metric.dataset_meta = dict(classes=('background', 'a', 'b', 'c'))
        metric.process(
            {},
            [
                dict(pred_scores=torch.tensor(s), gt_img_labels=torch.tensor(y))
                for s, y in zip(scores, labels)
            ],
        )
        return metric.evaluate(len(labels))

    labels = [[1], [1, 2], [1], []]
    scores = [[1.0, 0.0, 0.0], [1.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.5, 0.0, 0.0]]
    perfect = evaluate(scores, labels)
    assert perfect['cls/mAP_chance'] == 50.0  # (3/4 + 1/4) / 2
    assert perfect['cls/mAP'] == 100.0
    assert learned_share(perfect) == 1.0
    rng = np.random.default_rng(0)
    labels = [
        [c + 1 for c, p in enumerate((0.75, 0.25)) if rng.random() < p]
        for _ in range(400)
    ]
    prior = [list(np.array([0.75, 0.25, 0.0]) + rng.normal(0, 1e-3, 3)) for _ in labels]
    flat = evaluate(prior, labels)
    assert abs(learned_share(flat)) < 0.1
    assert learned_share({'cls/mAP': 50.0}) is None


def test_a_classifier_that_did_not_learn_stops_its_stage(tmp_path):
    from mmwsss.pipeline.stages.train_test import check_learned

    val = {'cls/mAP': 41.7, 'cls/mAP_chance': 17.0}
    # 30% of the way from chance to 100: a warning only, without min_learned
    assert abs(check_learned('cam', val, None, str(tmp_path)) - 24.7 / 83) < 1e-9
    with pytest.raises(RuntimeError, match='did not learn.*randomness.seed'):
        check_learned('cam', val, 0.5, str(tmp_path))
    assert (
        check_learned('cam', {'cls/mAP': 76.8, 'cls/mAP_chance': 17.0}, 0.5, '.') > 0.7
    )
    assert check_learned('irn', {'mIoU': 50.0}, 0.5, '.') is None


def test_the_report_warns_of_a_classifier_near_chance():
    from mmwsss.pipeline.report import learned_warnings

    results = dict(
        cam=dict(learned=0.3, val={'cls/mAP': 41.7, 'cls/mAP_chance': 17.0}),
        seam=dict(learned=0.72, val={'cls/mAP': 76.8, 'cls/mAP_chance': 17.0}),
        irn=dict(metrics={'mIoU': 50.0}),
        skipped=None,
    )
    lines = learned_warnings(results)
    assert len(lines) == 2 and 'stage `cam`' in lines[0]
    assert 'val mAP 41.7 against 17.0' in lines[0] and '30% of the way' in lines[0]
