import numpy as np
import pytest
from PIL import Image

from mmwsss.evaluation import score_label_dir
from mmwsss.evaluation.contour import (
    ContourCounts,
    default_tolerance,
    label_edges,
    mask_boundary,
)


def _square(shape, top, left, size, value=1):
    label = np.zeros(shape, np.uint8)
    label[top : top + size, left : left + size] = value
    return label


def _naive_boundary(mask):
    """Mask pixels with a 4-neighbour inside the image and outside the mask."""
    h, w = mask.shape
    out = np.zeros_like(mask, dtype=bool)
    for y in range(h):
        for x in range(w):
            if not mask[y, x]:
                continue
            for dy, dx in ((1, 0), (-1, 0), (0, 1), (0, -1)):
                ny, nx = y + dy, x + dx
                if 0 <= ny < h and 0 <= nx < w and not mask[ny, nx]:
                    out[y, x] = True
    return out


def _naive_hits(a, b, tol):
    """Pixels of boundary ``a`` within Euclidean ``tol`` of a pixel of ``b``."""
    pts_b = np.argwhere(b)
    hits = 0
    for p in np.argwhere(a):
        if len(pts_b) and np.sqrt(((pts_b - p) ** 2).sum(1)).min() <= tol:
            hits += 1
    return hits


def test_boundary_and_edges_hand_case():
    mask = np.zeros((5, 5), bool)
    mask[1:4, 1:4] = True  # a 3x3 square: its ring of 8 is the boundary
    expected = mask.copy()
    expected[2, 2] = False
    assert (mask_boundary(mask) == expected).all()
    # the image border is no boundary: a full mask has none
    assert not mask_boundary(np.ones((4, 4), bool)).any()
    edges = label_edges(np.array([[0, 0, 1], [0, 0, 1]]))
    assert edges.tolist() == [[False, True, True], [False, True, True]]
    assert default_tolerance((160, 160)) == 2
    assert default_tolerance((375, 500)) == 5


def test_shifted_square_contour_f_is_one_half():
    # GT square rows/cols 10..19; prediction shifted right by 3 px. With
    # tol 1, 18 of the 36 predicted boundary pixels lie within 1 px of the GT
    # outline (7 + 1 on the top and bottom rows each, 2 next to the corners
    # of the left side), and by symmetry 18 of the GT's: P = R = F = 0.5.
    gt = _square((40, 40), 10, 10, 10)
    pred = _square((40, 40), 10, 13, 10)
    counts = ContourCounts(num_classes=2, tol=1, band=2)
    counts.add(pred, gt)
    hits_p, n_p, hits_r, n_r = counts.counts[:, 1]
    assert (hits_p, n_p, hits_r, n_r) == (18, 36, 18, 36)
    summary = counts.summary()
    assert summary['contour_F_per_class'][1] == pytest.approx(50.0)


def test_counts_match_a_naive_implementation():
    rng = np.random.default_rng(0)
    gt = np.zeros((24, 30), np.uint8)
    gt[3:15, 4:16] = 1
    gt[12:22, 18:28] = 2
    gt[14:16, 2:8] = 255  # an ignored band
    pred = gt.copy()
    pred[pred == 255] = 0
    pred[rng.random(pred.shape) < 0.05] = 2  # speckle
    pred[2:9, 5:12] = 1
    counts = ContourCounts(num_classes=3, tol=2, band=3)
    counts.add(pred, gt)
    for c in range(3):
        pb, gb = _naive_boundary(pred == c), _naive_boundary(gt == c)
        expected = (_naive_hits(pb, gb, 2), pb.sum(), _naive_hits(gb, pb, 2), gb.sum())
        assert tuple(counts.counts[:, c]) == expected, c
    # interior: pixels farther than 3 px from every GT label change
    changes = np.argwhere(label_edges(gt))
    grid = np.argwhere(np.ones(gt.shape, bool))
    dist = np.sqrt(((grid[:, None] - changes[None]) ** 2).sum(-1)).min(1)
    far = (dist > 3).reshape(gt.shape) & (gt != 255)
    for c in range(3):
        inter = ((pred == c) & (gt == c) & far).sum()
        union = (((pred == c) | (gt == c)) & far).sum()
        assert tuple(counts.interior[:, c]) == (inter, union)


def test_perfect_prediction_and_missing_class():
    gt = _square((32, 32), 8, 8, 12)
    counts = ContourCounts(num_classes=3)
    counts.add(gt.copy(), gt)
    summary = counts.summary()
    assert summary['contour_F'] == pytest.approx(100.0)
    assert summary['interior_mIoU'] == pytest.approx(100.0)
    assert np.isnan(summary['contour_F_per_class'][2])  # in neither map
    # predicting nothing of class 1: its recall and F are 0
    counts = ContourCounts(num_classes=2)
    counts.add(np.zeros_like(gt), gt)
    assert counts.summary()['contour_F_per_class'][1] == 0.0
    with pytest.raises(ValueError, match='sizes differ'):
        counts.add(np.zeros((3, 3), np.uint8), gt)


def test_score_label_dir_reports_contour(tmp_path):
    gt_dir, pred_dir = tmp_path / 'gt', tmp_path / 'pred'
    gt_dir.mkdir()
    pred_dir.mkdir()
    gt = _square((40, 40), 10, 10, 10)
    Image.fromarray(gt).save(gt_dir / 'a.png')
    Image.fromarray(_square((40, 40), 10, 13, 10)).save(pred_dir / 'a.png')
    scores = score_label_dir(str(pred_dir), str(gt_dir), ['a'], num_classes=2)
    assert 0 < scores['contour_F'] < 100
    assert scores['interior_mIoU'] > scores['mIoU']  # the error is at the outline
    plain = score_label_dir(
        str(pred_dir), str(gt_dir), ['a'], num_classes=2, contour=False
    )
    assert 'contour_F' not in plain and plain['mIoU'] == scores['mIoU']


def test_contour_metric_pools_like_the_counts():
    """ContourFMetric in an evaluator: the shifted-square case (F = 0.5 for the
    square, 1.0 for the background's outline it shares) split over two
    batches and pooled."""
    import torch
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample

    from mmwsss.evaluation import ContourFMetric

    def sample(pred, gt):
        s = SegDataSample()
        s.pred_sem_seg = PixelData(data=torch.from_numpy(pred)[None])
        s.gt_sem_seg = PixelData(data=torch.from_numpy(gt)[None])
        return s.to_dict()

    gt = _square((40, 40), 10, 10, 10)
    pred = _square((40, 40), 10, 13, 10)
    metric = ContourFMetric(tol=1)
    metric.dataset_meta = dict(classes=('background', 'square'))
    metric.process({}, [sample(pred, gt)])
    metric.process({}, [sample(gt, gt)])
    scores = metric.evaluate(2)
    counts = ContourCounts(num_classes=2, tol=1)
    counts.add(pred, gt)
    counts.add(gt, gt)
    expected = counts.summary()
    assert scores['contour/F'] == pytest.approx(expected['contour_F'])
    assert scores['contour/interior_mIoU'] == pytest.approx(expected['interior_mIoU'])
    assert 50 < scores['contour/F'] < 100
    with pytest.raises(ValueError, match='num_classes'):
        bare = ContourFMetric()
        bare.process({}, [sample(gt, gt)])
