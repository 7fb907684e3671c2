"""Selective-search proposals, PRM's proposal retrieval and WISE's rule."""

import numpy as np
import pytest

from mmwsss.ops.proposals import (
    colour_contrast,
    hierarchical_grouping,
    selective_search,
)
from mmwsss.ops.wise import (
    background_mask,
    contours,
    mask_iou,
    mask_ious,
    retrieval_scores,
    wise_instances,
)


def _two_squares():
    """A red and a blue square on a grey, slightly noisy background."""
    rng = np.random.default_rng(0)
    image = np.full((48, 48, 3), 128, np.uint8)
    image += rng.integers(0, 6, image.shape, dtype=np.uint8)
    image[6:20, 6:20] = (220, 30, 30)
    image[28:44, 26:42] = (30, 30, 220)
    red = np.zeros((48, 48), bool)
    red[6:20, 6:20] = True
    blue = np.zeros((48, 48), bool)
    blue[28:44, 26:42] = True
    return image, red, blue


def test_hierarchical_grouping_merges_to_the_whole_image():
    segments = np.array([[0, 0, 1], [2, 2, 1], [2, 3, 3]])
    image = np.zeros((3, 3, 3), np.uint8)
    hierarchy = hierarchical_grouping(image, segments)
    assert hierarchy[:4] == [[0], [1], [2], [3]]
    assert len(hierarchy) == 4 + 3  # n - 1 merges
    assert hierarchy[-1] == [0, 1, 2, 3]


def test_selective_search_finds_the_objects_and_ranks_them_first():
    image, red, blue = _two_squares()
    masks, scores = selective_search(image)
    assert masks.dtype == bool and masks.shape[1:] == (48, 48)
    assert len(masks) == len(scores) and np.all(np.diff(scores) <= 0)
    best = {
        name: max(mask_iou(m, gt) for m in masks)
        for name, gt in (('red', red), ('blue', blue))
    }
    assert best['red'] > 0.95 and best['blue'] > 0.95
    # the two squares are the most contrasted proposals
    top = masks[:2]
    assert {round(mask_iou(top[0], red) + mask_iou(top[1], red))} == {1}
    with pytest.raises(ValueError, match='uint8'):
        selective_search(image.astype(np.float32))


def test_colour_contrast():
    image, red, _ = _two_squares()
    assert colour_contrast(image, red, 2) > 0.9
    half = np.zeros_like(red)
    half[6:20, 6:13] = True  # cuts through the square: its ring is half red
    assert colour_contrast(image, half, 2) < colour_contrast(image, red, 2)
    assert colour_contrast(image, np.ones_like(red), 2) == 0.0


def test_mask_ious_and_contours():
    a = np.zeros((2, 4, 4), bool)
    a[0, :2, :2] = True  # 4 px
    a[1, :, :] = True  # 16 px
    b = np.zeros((1, 4, 4), bool)
    b[0, :2, :] = True  # 8 px
    np.testing.assert_allclose(mask_ious(a, b), [[4 / 8], [8 / 16]])
    np.testing.assert_allclose(mask_ious(a, b, chunk=1), mask_ious(a, b))
    assert mask_ious(a, b[:0]).shape == (2, 0)
    square = np.zeros((1, 9, 9), bool)
    square[0, 3:6, 3:6] = True
    band = contours(square, 3)[0]
    # dilation (2:7) minus erosion (the centre pixel)
    expected = np.zeros((9, 9), bool)
    expected[2:7, 2:7] = True
    expected[4, 4] = False
    assert np.array_equal(band, expected)
    # OpenCV's border: the image edge does not erode a mask that touches it
    edge = np.zeros((1, 5, 5), bool)
    edge[0, :, :2] = True
    assert np.array_equal(contours(edge, 3)[0][:, :3], np.tile([0, 1, 1], (5, 1)))
    with pytest.raises(ValueError, match='odd'):
        contours(square, 4)


def test_background_mask_below_a_share_of_the_mean():
    m = np.array([[0.0, 1.0], [2.0, 5.0]])  # mean 2
    assert np.array_equal(background_mask(m, (2, 2), 0.95), [[1, 1], [0, 0]])
    assert np.array_equal(background_mask(m, (2, 2), 1.1), [[1, 1], [1, 0]])
    assert background_mask(m, (6, 4), 0.95).shape == (6, 4)


def test_retrieval_score_hand_case():
    """alpha * response inside + response on the contour - beta * background
    covered / image area, per proposal."""
    response = np.zeros((8, 8), np.float32)
    response[2, 2] = 0.5  # the peak: inside both masks
    response[1, 1] = 0.25  # the small mask's contour, the big one's inside
    response[7, 7] = 0.25  # outside both, on neither's contour
    small = np.zeros((8, 8), bool)
    small[2:4, 2:4] = True
    big = np.zeros((8, 8), bool)
    big[0:5, 0:5] = True
    background = np.zeros((8, 8), bool)
    background[0, :] = True  # 5 of it under the big mask
    scores = retrieval_scores(
        response,
        np.stack([small, big]),
        background,
        alpha=0.8,
        beta=2.0,
        contour_width=3,
    )
    # small: 0.8 * 0.5 + (0.5 + 0.25) on its band (dilation 1:5 minus nothing:
    # a 2x2 mask erodes away) - 0; big: 0.8 * 0.75 + 0 - 2 * 5 / 64
    np.testing.assert_allclose(scores, [0.4 + 0.75, 0.6 - 10 / 64], rtol=1e-6)


def _response(shape, *points):
    r = np.zeros(shape, np.float32)
    for y, x, v in points:
        r[y, x] = v
    return r / r.sum()


def test_wise_instances_retrieve_by_the_peak_response_not_objectness():
    """The retrieval score, not the objectness, picks the proposal; a proposal
    holding two peaks is no candidate (WISE); NMS is class-agnostic and
    ordered by the retrieval score; peaks of other classes are skipped."""
    image, red, blue = _two_squares()
    whole = np.ones_like(red)
    both = red | blue
    half = np.zeros_like(red)
    half[6:20, 6:13] = True  # the red square's left half
    masks = np.stack([whole, red, blue, both, half])
    objectness = np.array([0.99, 0.5, 0.6, 0.98, 0.97])
    bg = {1: ~red, 2: ~blue}
    peaks = [
        (1, 10, 10, 0.9),  # red square (left half)
        (2, 30, 30, 0.8),  # blue square
        (3, 40, 2, 0.6),  # class not in the image labels
    ]
    responses = np.stack(
        [
            _response(red.shape, (10, 10, 1.0), (10, 17, 1.0)),  # both halves
            _response(red.shape, (30, 30, 1.0)),
            _response(red.shape, (40, 2, 1.0)),
        ]
    )
    wise_rule = dict(candidates='holding', one_point=True)
    chosen, skipped = wise_instances(
        peaks, responses, masks, objectness, [1, 2], bg, **wise_rule
    )
    # whole and both hold both peaks (WISE's rule); of red and its half, the
    # response on the right half picks red despite the half's objectness
    assert [(c['label'], c['objectness']) for c in chosen] == [(1, 0.5), (2, 0.6)]
    assert np.array_equal(chosen[0]['mask'], red)
    assert chosen[0]['score'] == 0.9 and chosen[0]['retrieval'] > 0
    assert skipped == {'peak_of_unlabelled_class': 1}
    # without the one-point rule the whole image and both squares are
    # candidates too: the background they cover keeps the squares first
    chosen, _ = wise_instances(
        peaks[:2],
        responses[:2],
        masks,
        objectness,
        [1, 2],
        bg,
        candidates='holding',
        size_limits=None,
    )
    assert [c['objectness'] for c in chosen] == [0.5, 0.6]
    # class-agnostic NMS: a class-2 peak in the red square retrieves the red
    # square too and is dropped as a duplicate of the better-scored class 1
    peaks2 = [(1, 10, 10, 0.9), (2, 12, 12, 0.8)]
    responses2 = np.stack([responses[0], _response(red.shape, (12, 12, 1.0))])
    bg2 = {1: ~red, 2: ~red}
    chosen, skipped = wise_instances(
        peaks2,
        responses2,
        masks[1:2],
        objectness[1:2],
        [1, 2],
        bg2,
        one_point=False,
    )
    assert [c['label'] for c in chosen] == [1] and skipped == {'duplicate': 1}
    # the order is the retrieval score's: the class-2 peak's response lies
    # wholly inside, the class-1 peak's only half of it
    responses2[0] = _response(red.shape, (10, 10, 1.0), (40, 40, 1.0))
    chosen, _ = wise_instances(
        peaks2,
        responses2,
        masks[1:2],
        objectness[1:2],
        [1, 2],
        bg2,
        one_point=False,
    )
    assert [c['label'] for c in chosen] == [2]


def test_wise_instances_count_what_finds_no_proposal():
    image, red, blue = _two_squares()
    masks = np.stack([red, blue])
    bg = {2: ~blue}
    r = _response(red.shape, (2, 2, 1.0))
    wise_rule = dict(candidates='holding', one_point=True)
    chosen, skipped = wise_instances(
        [(2, 2, 2, 0.5)], r[None], masks, np.ones(2), [2], bg, **wise_rule
    )
    assert chosen == [] and skipped == {'peak_without_proposal': 1}
    chosen, skipped = wise_instances(
        [(2, 2, 2, 0.5)], r[None], np.zeros((0, 48, 48), bool), np.zeros(0), [2], bg
    )
    assert skipped == {'peak_without_proposal': 1}
    # two peaks in the blue square: no proposal holds one alone
    rr = np.stack([_response(red.shape, (30, 30, 1.0))] * 2)
    two_peaks = [(2, 30, 30, 0.5), (2, 35, 35, 0.4)]
    chosen, skipped = wise_instances(
        two_peaks, rr, masks, np.ones(2), [2], bg, **wise_rule
    )
    assert chosen == [] and skipped == {'peak_without_proposal': 2}
    # PRM's retrieval keeps the square for the first and drops the second
    chosen, skipped = wise_instances(two_peaks, rr, masks, np.ones(2), [2], bg)
    assert len(chosen) == 1 and np.array_equal(chosen[0]['mask'], blue)
    assert skipped == {'duplicate': 1}
    with pytest.raises(ValueError, match='candidates'):
        wise_instances(two_peaks, rr, masks, np.ones(2), [2], bg, candidates='any')
    with pytest.raises(ValueError, match='scores'):
        wise_instances([], r[:0], masks, np.ones(1), [1], bg)
    with pytest.raises(ValueError, match='response maps'):
        wise_instances([(2, 2, 2, 0.5)], r[:0], masks, np.ones(2), [2], bg)


def test_wise_instances_prm_retrieval_over_every_proposal_within_size_limits():
    """PRM's retrieval (candidates='all'): a proposal need not hold the peak
    (its response decides), proposals outside PRM's area limits (0.00002 and
    0.85 of the image) never compete, and WISE's one-point rule applied to
    every proposal drops the ones holding another peak's point."""
    image, red, blue = _two_squares()
    whole = np.ones_like(red)
    dot = np.zeros_like(red)
    dot[0, 0] = True  # 1 pixel: 0.00043 of the image, within PRM's limits
    masks = np.stack([whole, red, blue, dot])
    objectness = np.array([0.9, 0.5, 0.6, 0.1])
    bg = {1: np.zeros_like(red)}  # no background penalty: only the limits
    # the peak sits just outside the red square; two thirds of its response
    # lie inside it, the rest on the background left of the blue square
    peak = [(1, 5, 5, 0.9)]
    response = _response(red.shape, (10, 10, 1.0), (15, 15, 1.0), (30, 5, 1.0))[None]
    chosen, skipped = wise_instances(peak, response, masks, objectness, [1], bg)
    # the whole image would score highest (all the response inside, no penalty)
    # but covers 100% of it, above PRM's 0.85
    assert np.array_equal(chosen[0]['mask'], red) and not skipped
    # holding the peak's pixel, only the whole image is a candidate, and it is
    # over the limit: no proposal
    chosen, skipped = wise_instances(
        peak, response, masks, objectness, [1], bg, candidates='holding'
    )
    assert chosen == [] and skipped == {'peak_without_proposal': 1}
    # without limits the whole image wins
    chosen, _ = wise_instances(
        peak, response, masks, objectness, [1], bg, size_limits=None
    )
    assert np.array_equal(chosen[0]['mask'], whole)
    # a lower limit above the dot's area excludes it even where it is the only
    # proposal with any response
    only_dot = _response(red.shape, (0, 0, 1.0))[None]
    chosen, _ = wise_instances(peak, only_dot, masks, objectness, [1], bg)
    assert np.array_equal(chosen[0]['mask'], dot)
    chosen, skipped = wise_instances(
        peak, only_dot, masks[3:], objectness[3:], [1], bg, size_limits=(0.001, 0.85)
    )
    assert chosen == [] and skipped == {'peak_without_proposal': 1}
    # one-point over every proposal: two peaks in the red square leave it to
    # neither (each finds only proposals without any response)
    two = [(1, 8, 8, 0.9), (1, 12, 12, 0.8)]
    responses = np.concatenate([response, response])
    chosen, _ = wise_instances(
        two, responses, masks, objectness, [1], bg, one_point=True
    )
    assert all(not np.array_equal(c['mask'], red) for c in chosen)


def test_contours_match_pooled_morphology_on_random_masks():
    """The separable contour equals dilation minus erosion by max pooling
    (padding outside: -inf for both, i.e. OpenCV's border) on random masks."""
    import torch
    import torch.nn.functional as F

    rng = np.random.default_rng(3)
    masks = rng.random((6, 17, 23)) < 0.4
    for width in (1, 3, 5):
        t = torch.from_numpy(masks).float()[:, None]
        pad = width // 2
        dilated = F.max_pool2d(t, width, stride=1, padding=pad)
        eroded = -F.max_pool2d(-t, width, stride=1, padding=pad)
        expected = (dilated - eroded)[:, 0].numpy() > 0
        assert np.array_equal(contours(masks, width), expected)
