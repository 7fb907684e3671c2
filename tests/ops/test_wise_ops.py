"""PRM peaks, selective-search proposals and WISE's peak-to-proposal choice."""

import numpy as np
import pytest
import torch

from mmwsss.ops.peaks import find_peaks, peak_mask, peak_stimulation
from mmwsss.ops.proposals import (
    colour_contrast,
    hierarchical_grouping,
    selective_search,
)
from mmwsss.ops.wise import mask_iou, wise_instances


def test_peak_mask_hand_case():
    m = torch.tensor(
        [
            [0.0, 0.0, 0.0, 0.0, 0.0],
            [0.0, 5.0, 0.0, 0.0, 0.0],
            [0.0, 0.0, 0.0, 3.0, 0.0],
            [0.0, 0.0, 0.0, 0.0, 0.0],
            [1.0, 0.0, 0.0, 0.0, 2.0],
        ]
    )
    peaks = peak_mask(m)
    # local maxima above the median (0): 5, 3, 1 and 2; zeros are not peaks
    assert torch.nonzero(peaks).tolist() == [[1, 1], [2, 3], [4, 0], [4, 4]]
    assert not peak_mask(torch.ones(4, 4)).any()  # constant: none above median
    with pytest.raises(ValueError, match='odd'):
        peak_mask(m, window=2)


def test_peak_stimulation_scores_and_gradient_at_peaks_only():
    maps = torch.zeros(1, 2, 5, 5)
    maps[0, 0, 1, 1], maps[0, 0, 3, 3] = 4.0, 2.0
    maps[0, 1] = 1.0  # constant: no peak, falls back to the mean
    maps.requires_grad_(True)
    scores = peak_stimulation(maps)
    assert scores.tolist() == [[3.0, 1.0]]
    scores[0, 0].backward()
    grad = maps.grad[0, 0]
    assert grad[1, 1] == grad[3, 3] == 0.5
    assert grad.sum() == 1.0  # nowhere else


def test_find_peaks_sorted_with_class_keys():
    maps = torch.zeros(2, 4, 4)
    maps[0, 0, 0] = 0.5
    maps[1, 2, 2] = 0.9
    maps[1, 0, 3] = 0.05
    found = find_peaks(maps, torch.tensor([3, 7]), min_score=0.1)
    assert found == [(7, 2, 2, pytest.approx(0.9)), (3, 0, 0, 0.5)]


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


def test_wise_instances_pick_the_best_containing_proposal_and_skip():
    image, red, blue = _two_squares()
    whole = np.ones_like(red)
    masks = np.stack([whole, red, blue, red])
    scores = np.array([0.1, 0.9, 0.8, 0.5])
    peaks = [
        (1, 10, 10, 0.9),  # in the red square: proposal 1 (0.9) beats 0 and 3
        (1, 12, 12, 0.7),  # same object again: a duplicate
        (2, 30, 30, 0.8),  # blue square
        (3, 40, 2, 0.6),  # class not in the image labels
    ]
    chosen, skipped = wise_instances(peaks, masks, scores, labels=[1, 2])
    assert [(c['label'], c['score'], c['objectness']) for c in chosen] == [
        (1, 0.9, 0.9),
        (2, 0.8, 0.8),
    ]
    assert np.array_equal(chosen[0]['mask'], red)
    assert skipped == {'duplicate': 1, 'peak_of_unlabelled_class': 1}
    # a peak outside every proposal, and an image without proposals
    chosen, skipped = wise_instances([(2, 2, 2, 0.5)], masks[1:], scores[1:], [2])
    assert chosen == [] and skipped == {'peak_without_proposal': 1}
    chosen, skipped = wise_instances(
        [(2, 2, 2, 0.5)], np.zeros((0, 48, 48), bool), np.zeros(0), [2]
    )
    assert skipped == {'peak_without_proposal': 1}
    with pytest.raises(ValueError, match='scores'):
        wise_instances([], masks, scores[:2], [1])
