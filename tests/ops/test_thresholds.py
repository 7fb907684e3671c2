import math

import numpy as np
import pytest
from skimage.filters import threshold_multiotsu, threshold_otsu

from mmwsss.ops.thresholds import (
    max_score_histogram,
    multi_otsu_thresholds,
    otsu_threshold,
    psa_alpha,
    thresholds_from_histogram,
)


def _maps(centers, counts, seed=0):
    """One (1, 1, N) map per mode: scores drawn around each center."""
    rng = np.random.default_rng(seed)
    values = np.concatenate(
        [np.clip(rng.normal(c, 0.05, n), 0, 1) for c, n in zip(centers, counts)]
    )
    return values.astype(np.float32)


def test_histogram_counts_the_max_over_classes():
    maps = np.zeros((2, 2, 2), dtype=np.float32)
    maps[0] = [[0.9, 0.1], [0.0, 0.2]]
    maps[1] = [[0.1, 0.8], [0.0, 1.0]]
    hist = max_score_histogram([maps], num_bins=10)
    # per-pixel max: 0.9, 0.8, 0.0, 1.0
    expected = np.zeros(10, dtype=np.int64)
    np.add.at(expected, [9, 8, 0, 9], 1)
    assert hist.tolist() == expected.tolist()


def test_histogram_image_without_classes_is_all_background():
    hist = max_score_histogram([np.zeros((0, 3, 4))], num_bins=4)
    assert hist.tolist() == [12, 0, 0, 0]


def test_histogram_rejects_unnormalised_maps_and_no_pixels():
    with pytest.raises(ValueError, match='max-normalised'):
        max_score_histogram([np.full((1, 2, 2), 3.0)])
    with pytest.raises(ValueError, match='no pixels'):
        max_score_histogram([])
    with pytest.raises(ValueError, match=r'\(K, H, W\)'):
        max_score_histogram([np.zeros((4, 4))])


def test_otsu_matches_scikit_image_on_the_raw_scores():
    values = _maps([0.1, 0.8], [6000, 1500])
    hist = max_score_histogram([values[None, None]])
    expected = threshold_otsu(values)
    assert abs(otsu_threshold(hist) - expected) < 2 / 256
    # in the gap between the two modes (0.1 + 3 sd, 0.8 - 3 sd)
    assert 0.25 < otsu_threshold(hist) < 0.65


def test_multi_otsu_matches_scikit_image_on_the_raw_scores():
    values = _maps([0.05, 0.45, 0.95], [5000, 2000, 2000])
    hist = max_score_histogram([values[None, None]])
    low, high = multi_otsu_thresholds(hist)
    ref = threshold_multiotsu(values, classes=3)
    assert abs(low - ref[0]) < 2 / 256 and abs(high - ref[1]) < 2 / 256
    assert 0.05 < low < 0.45 < high < 0.95


def test_psa_alpha_puts_the_crossing_at_the_score():
    for score in (0.05, 0.13, 0.3, 0.5, 0.8):
        alpha = psa_alpha(score)
        assert math.isclose((1 - score) ** alpha, score, rel_tol=1e-9)
    # PSA's published exponents sit at VOC's thresholds: fg 0.30 -> ~4, 0.13 -> ~16
    assert 3 < psa_alpha(0.30) < 4
    assert 14 < psa_alpha(0.13) < 17
    with pytest.raises(ValueError):
        psa_alpha(1.0)


def test_thresholds_are_ordered_and_consistent():
    values = _maps([0.05, 0.5, 0.95], [5000, 1500, 2500])
    t = thresholds_from_histogram(max_score_histogram([values[None, None]]))
    assert t['bg_thr'] < t['fg_thr']
    assert math.isclose(t['alpha'], psa_alpha(t['bg_score']), rel_tol=1e-3)
    assert math.isclose(t['alpha_low'], psa_alpha(t['fg_thr']), rel_tol=1e-3)
    assert math.isclose(t['alpha_high'], psa_alpha(t['bg_thr']), rel_tol=1e-3)
    # a higher crossing score needs a smaller exponent
    assert t['alpha_low'] < t['alpha_high']
    above = (values > t['bg_score']).mean()
    assert abs(t['fg_fraction'] - above) < 0.01


def test_binary_maps_fall_back_to_otsu_for_both_cuts():
    maps = np.zeros((1, 4, 4), dtype=np.float32)
    maps[0, :2] = 1.0
    hist = max_score_histogram([maps])
    low, high = multi_otsu_thresholds(hist)
    assert low == high == otsu_threshold(hist)
    assert 0 < low < 1


def test_maps_in_one_bin_name_the_likely_cause():
    """All-zero maps (a collapsed classifier) have no threshold: a clear error,
    not scikit-image's argmax of an empty sequence."""
    hist = max_score_histogram([np.zeros((2, 4, 4), dtype=np.float32)])
    with pytest.raises(ValueError, match='collapsed'):
        thresholds_from_histogram(hist)
