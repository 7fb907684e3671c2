"""Ground-truth-free thresholds for seeds and pseudo masks.

Every WSSS stage has a threshold that the papers tune on ground truth: the seed
background score (IRN: 0.15 on VOC train), the IR-label foreground / background
scores (0.30 / 0.05), PSA's background exponents (4 / 32 for labels, 16 for the
walk) and the background score that cuts the walked maps (0.25). A user with
only image-level labels cannot sweep them, so mmwsss derives all of them from
one statistic of the training set's own maps:

    the distribution, over every pixel of every training image, of the highest
    max-normalised class score among the image's labelled classes.

Foreground pixels of an image's classes score near 1 after max normalisation,
background pixels near 0, so the distribution is two-moded and **Otsu's
threshold** (the cut that maximises the between-class variance) separates them.
It is the seed background score. A three-class Otsu (multi-Otsu) gives two cuts
``t_low < t_high``: below ``t_low`` a pixel is confidently background, above
``t_high`` confidently foreground, in between unsure; they are the IR-label
``bg_thr`` / ``fg_thr``, the two-CRF recipes' confident regions. PSA writes its
background as ``(1 - max cam) ** alpha``, which equals the CAM score ``t`` at
``alpha = ln t / ln(1 - t)``: the exponents that put PSA's crossing at ``t``,
``t_high`` and ``t_low`` are its walk alpha and label alphas. (On VOC the
published values sit close to this relation: IR fg 0.30 gives alpha 3.4 ~ PSA's
4; PSA's 16 crosses at 0.13 ~ the best seed score 0.15.)

The functions use scikit-image's ``threshold_otsu`` / ``threshold_multiotsu``
on a pooled histogram, so the memory does not grow with the dataset.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

#: Histogram bins over [0, 1] of the pooled scores.
NUM_BINS = 256


def max_score_histogram(
    maps: Iterable[np.ndarray], num_bins: int = NUM_BINS
) -> np.ndarray:
    """Pooled histogram of the per-pixel highest class score.

    Args:
        maps (Iterable[np.ndarray]): Per image, the (K, H, W) max-normalised
            score maps of its labelled classes (values in [0, 1]; K may be 0,
            an image with no class, whose pixels all count as score 0).
        num_bins (int): Bins over [0, 1]. Default: 256.

    Returns:
        np.ndarray: (num_bins,) int64 pixel counts.

    Raises:
        ValueError: If a map is not 3-D or holds values outside [0, 1]
            (tolerance 1e-3), or if no pixel was seen.
    """
    counts = np.zeros(num_bins, dtype=np.int64)
    for score_maps in maps:
        score_maps = np.asarray(score_maps, dtype=np.float32)
        if score_maps.ndim != 3:
            raise ValueError(f'score maps must be (K, H, W), got {score_maps.shape}')
        if score_maps.shape[0] == 0:
            counts[0] += score_maps.shape[1] * score_maps.shape[2]
            continue
        top = score_maps.max(axis=0)
        if top.min() < -1e-3 or top.max() > 1 + 1e-3:
            raise ValueError(
                f'score maps must be max-normalised to [0, 1], got values in '
                f'[{top.min():.3f}, {top.max():.3f}]'
            )
        index = np.clip((top * num_bins).astype(np.int64), 0, num_bins - 1)
        counts += np.bincount(index.ravel(), minlength=num_bins)
    if counts.sum() == 0:
        raise ValueError('no pixels: the threshold rule needs at least one map')
    return counts


def _bin_centers(num_bins: int) -> np.ndarray:
    return (np.arange(num_bins) + 0.5) / num_bins


def otsu_threshold(hist: np.ndarray) -> float:
    """Otsu's threshold of a [0, 1] histogram (scikit-image's)."""
    from skimage.filters import threshold_otsu

    hist = np.asarray(hist)
    occupied = np.flatnonzero(hist)
    if len(occupied) < 2:
        where = f'bin {occupied[0]} of {len(hist)}' if len(occupied) else 'no bin'
        raise ValueError(
            f"every pixel's score falls in {where}: no threshold separates "
            'anything (are the maps all zero, e.g. from a classifier whose CAMs '
            'collapsed? check its training loss and val mAP)'
        )
    return float(threshold_otsu(hist=(hist, _bin_centers(len(hist)))))


def multi_otsu_thresholds(hist: np.ndarray, classes: int = 3) -> list[float]:
    """The ``classes - 1`` multi-Otsu thresholds of a [0, 1] histogram.

    A histogram with fewer occupied bins than ``classes`` (e.g. binary maps)
    has no such split: every cut is then Otsu's threshold."""
    from skimage.filters import threshold_multiotsu

    hist = np.asarray(hist)
    if np.count_nonzero(hist) < classes:
        return [otsu_threshold(hist)] * (classes - 1)
    # scikit-image reads a bare array as counts over bins 0..n-1: rescale
    cuts = threshold_multiotsu(hist=hist, classes=classes)
    return [float((c + 0.5) / len(hist)) for c in np.atleast_1d(cuts)]


def psa_alpha(score: float) -> float:
    """The exponent whose PSA background ``(1 - s) ** alpha`` equals ``s`` at
    ``s = score``: ``alpha = ln score / ln(1 - score)``."""
    if not 0.0 < score < 1.0:
        raise ValueError(f'score must be in (0, 1), got {score}')
    return math.log(score) / math.log(1.0 - score)


def thresholds_from_histogram(hist: np.ndarray) -> dict[str, float]:
    """Every threshold of the pipeline from the pooled max-score histogram.

    Args:
        hist (np.ndarray): Output of :func:`max_score_histogram`.

    Returns:
        dict[str, float]: ``bg_score`` (Otsu: seed / walk background score,
        CAM + CRF), ``fg_thr`` / ``bg_thr`` (multi-Otsu high / low cut: IR
        labels), ``alpha`` (PSA walk, crossing at ``bg_score``),
        ``alpha_low`` / ``alpha_high`` (PSA labels, crossing at ``fg_thr`` /
        ``bg_thr``) and ``fg_fraction`` (share of pixels above ``bg_score``),
        rounded to 4 digits.
    """
    hist = np.asarray(hist, dtype=np.float64)
    bg_score = otsu_threshold(hist)
    low, high = multi_otsu_thresholds(hist, classes=3)
    centers = _bin_centers(len(hist))
    out = dict(
        bg_score=bg_score,
        fg_thr=high,
        bg_thr=low,
        alpha=psa_alpha(bg_score),
        alpha_low=psa_alpha(high),
        alpha_high=psa_alpha(low),
        fg_fraction=float(hist[centers > bg_score].sum() / hist.sum()),
    )
    return {k: round(v, 4) for k, v in out.items()}
