import json

import numpy as np
import pytest
import torch
from mmseg.evaluation.metrics import IoUMetric

from mmwsss.evaluation import SeedIoUMetric, sweep_confusion
from mmwsss.ops import cams_to_labels

CLASSES = ('background', 'a', 'b', 'c')


def _brute_force_miou(samples, bg_scores, num_classes):
    """One argmax and one mmseg intersect_and_union per threshold."""
    out = []
    for t in bg_scores:
        areas = [0, 0, 0, 0]
        for gt, cams, keys in samples:
            pred = cams_to_labels(cams, keys, t)
            res = IoUMetric.intersect_and_union(pred, gt, num_classes, 255)
            areas = [a + r for a, r in zip(areas, res)]
        iou = areas[0] / areas[1]
        out.append(float(np.nanmean(iou.numpy())) * 100)
    return np.array(out)


def _random_samples(n, seed=0):
    g = torch.Generator().manual_seed(seed)
    samples = []
    for _ in range(n):
        gt = torch.randint(0, 4, (12, 10), generator=g)
        gt[0, :3] = 255
        keys = (
            torch.randperm(3, generator=g)[
                : 1 + int(torch.randint(0, 3, (1,), generator=g))
            ]
            + 1
        )
        cams = torch.rand(len(keys), 12, 10, generator=g)
        samples.append((gt, cams, keys))
    return samples


def test_sweep_confusion_matches_per_threshold_argmax():
    samples = _random_samples(1)
    gt, cams, keys = samples[0]
    scores = (0.0, 0.1, 0.25, 0.5, 0.9)
    conf = sweep_confusion(gt, cams, keys, scores, 4)
    for j, t in enumerate(scores):
        pred = cams_to_labels(cams, keys, t)
        valid = gt != 255
        expected = np.zeros((4, 4), dtype=np.int64)
        np.add.at(expected, (gt[valid].numpy(), pred[valid].numpy()), 1)
        assert np.array_equal(conf[j], expected), t


def test_sweep_confusion_exact_ties_go_to_background():
    gt = torch.tensor([[1, 0]])
    cams = torch.tensor([[[0.25, 0.5]]])
    conf = sweep_confusion(gt, cams, torch.tensor([1]), (0.25, 0.5), 2)
    # at 0.25 the first pixel (== threshold) is background, the second foreground
    assert conf[0].tolist() == [[0, 1], [1, 0]]
    assert conf[1].tolist() == [[1, 0], [1, 0]]


def test_sweep_confusion_rejects_out_of_range_gt():
    with pytest.raises(ValueError, match='outside the 4 classes'):
        sweep_confusion(
            torch.full((2, 2), 9), torch.rand(1, 2, 2), torch.tensor([1]), (0.1,), 4
        )


def _as_dict(gt, cams, keys):
    return dict(
        gt_sem_seg=dict(data=gt[None]),
        cams=dict(data=cams),
        cam_keys=keys,
        img_path='x.jpg',
    )


def test_metric_matches_brute_force_and_writes_curve(tmp_path):
    samples = _random_samples(5, seed=3)
    metric = SeedIoUMetric(bg_scores=(0.0, 0.2, 0.4, 0.6), out_dir=str(tmp_path))
    metric.dataset_meta = dict(classes=CLASSES)
    metric.process({}, [_as_dict(*s) for s in samples[:3]])
    metric.process(
        {}, [_as_dict(*s) for s in samples[3:]] + [dict(img_path='no_gt.jpg')]
    )
    res = metric.evaluate(6)
    expected = _brute_force_miou(samples, metric.bg_scores, 4)
    fixed = metric.bg_scores.index(0.15)
    assert res['seed/mIoU'] == pytest.approx(expected[fixed], abs=0.01)
    assert res['seed/mIoU_best'] == pytest.approx(expected.max(), abs=0.01)
    assert res['seed/best_bg_score'] == metric.bg_scores[int(expected.argmax())]
    curve = json.loads((tmp_path / 'seed_sweep.json').read_text())
    assert curve['num_images'] == 5 and curve['num_skipped'] == 1
    assert np.allclose(curve['mIoU'], expected, atol=1e-3)
    assert (tmp_path / 'seed_sweep.png').stat().st_size > 1000


def test_metric_perfect_cams_score_100():
    gt = torch.zeros(8, 8, dtype=torch.long)
    gt[2:5, 2:6] = 2
    cams = (gt == 2).float()[None]
    metric = SeedIoUMetric(bg_scores=(0.0, 0.5))
    metric.dataset_meta = dict(classes=('background', 'a', 'b'))
    metric.process({}, [_as_dict(gt, cams, torch.tensor([2]))])
    res = metric.evaluate(1)
    assert res['seed/mIoU'] == 100.0


def test_metric_without_ground_truth_raises():
    metric = SeedIoUMetric()
    metric.dataset_meta = dict(classes=CLASSES)
    metric.process({}, [dict(img_path='a.jpg')])
    with pytest.raises(ValueError, match='no image with ground truth'):
        metric.evaluate(1)


def test_metric_without_maps_says_how_to_validate_them():
    """A classifier's validation predicts class scores only: a seed metric
    used as its val evaluator names the switch that keeps the maps."""
    gt = torch.zeros(8, 8, dtype=torch.long)
    sample = _as_dict(gt, gt[None].float(), torch.tensor([1]))
    del sample['cams']
    metric = SeedIoUMetric()
    metric.dataset_meta = dict(classes=CLASSES)
    with pytest.raises(KeyError, match='val_maps=True'):
        metric.process({}, [sample])


def test_metric_drops_the_duplicate_a_padded_sampler_appends():
    # one process: a padded sampler repeats the first image at the end
    samples = _random_samples(3, seed=5)
    ref = SeedIoUMetric(bg_scores=(0.1, 0.3))
    ref.dataset_meta = dict(classes=CLASSES)
    ref.process({}, [_as_dict(*s) for s in samples])
    padded = SeedIoUMetric(bg_scores=(0.1, 0.3))
    padded.dataset_meta = dict(classes=CLASSES)
    padded.process({}, [_as_dict(*s) for s in samples + samples[:1]])
    assert padded.evaluate(3) == ref.evaluate(3)


@pytest.mark.parametrize('num_images', [5, 6, 7])
def test_ranks_running_sums_equal_one_process(num_images):
    """Three ranks fed as mmengine's DefaultSampler deals (image j * 3 + rank,
    the order padded with the first images): their shares sum to the one-process
    histogram, every image once, and each rank holds one histogram whatever the
    number of images."""
    samples = _random_samples(num_images, seed=7)
    samples.append(None)  # an image without ground truth: counted, skipped
    size, world = len(samples), 3
    padded = samples + samples[: -size % world]
    one = SeedIoUMetric(bg_scores=(0.1, 0.3))
    one.dataset_meta = dict(classes=CLASSES)

    def fed(items):
        return [dict(img_path='x.jpg') if s is None else _as_dict(*s) for s in items]

    one.process({}, fed(samples))
    expected = one.local_result(size, 0, 1)
    shares = []
    for rank in range(world):
        metric = SeedIoUMetric(bg_scores=(0.1, 0.3))
        metric.dataset_meta = dict(classes=CLASSES)
        for item in padded[rank::world]:  # one image per batch
            metric.process({}, fed([item]))
        shares.append(metric.local_result(size, rank, world))
    assert all(share[0].shape == expected[0].shape for share in shares)
    np.testing.assert_array_equal(sum(s[0] for s in shares), expected[0])
    assert sum(s[1] for s in shares) == expected[1] == num_images
    assert sum(s[2] for s in shares) == expected[2] == 1
    scored = SeedIoUMetric(bg_scores=(0.1, 0.3))
    scored.dataset_meta = dict(classes=CLASSES)
    assert scored.compute_metrics(shares) == scored.compute_metrics([expected])


def test_unresolved_work_dir_placeholder_is_not_created(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    samples = _random_samples(1)
    metric = SeedIoUMetric(bg_scores=(0.1,), out_dir='{work_dir}/seed_eval')
    metric.dataset_meta = dict(classes=CLASSES)
    metric.process({}, [_as_dict(*samples[0])])
    metric.evaluate(1)
    assert not (tmp_path / '{work_dir}').exists()
