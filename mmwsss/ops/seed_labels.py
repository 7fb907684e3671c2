"""Label maps from CAMs refined by a dense CRF (IRN, AffinityNet, CAM + CRF).

All functions take an image's full-resolution CAMs ``cams`` (K, H, W) in [0, 1]
and ``keys`` (K,), the segmentation class index (1..C) of each map, and return
an (H, W) uint8 label map with 0 = background and, for the confidence labels,
255 = unsure. An image without classes (K = 0) is handled.
"""

from __future__ import annotations

import numpy as np
import torch

from .cam import cams_to_labels
from .crf import dense_crf, dense_crf_labels

IGNORE_INDEX = 255


def _check_cams(cams: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    cams = np.asarray(cams, dtype=np.float32)
    keys = np.asarray(keys).reshape(-1).astype(np.int64)
    if cams.ndim != 3:
        raise ValueError(f'cams must be (K, H, W), got shape {cams.shape}')
    if cams.shape[0] != keys.shape[0]:
        raise ValueError(
            f'{cams.shape[0]} CAMs but {keys.shape[0]} keys; each map needs a class'
        )
    if keys.size and (keys.min() < 1 or keys.max() >= IGNORE_INDEX):
        raise ValueError(
            f'keys must be foreground classes in 1..{IGNORE_INDEX - 1}, got '
            f'{keys.tolist()}'
        )
    return cams, keys


def _to_classes(index: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Map channel indices of ``[background, cams...]`` to class indices."""
    lut = np.concatenate([[0], keys]).astype(np.uint8)
    return lut[index]


def ir_labels(
    image: np.ndarray,
    cams: np.ndarray,
    keys: np.ndarray,
    fg_thr: float = 0.30,
    bg_thr: float = 0.05,
    crf_preset: str | dict = 'irn_label',
) -> np.ndarray:
    """IRN's inter-pixel relation labels.

    For each threshold ``t`` a label map is the argmax of ``[t, cams...]`` (ties
    go to background), refined by :func:`dense_crf_labels`. A pixel takes the
    fg-threshold map's class where that map says foreground, 0 where both maps
    say background, and 255 elsewhere.

    Args:
        image (np.ndarray): (H, W, 3) uint8 RGB image.
        cams (np.ndarray): (K, H, W) full-resolution CAMs in [0, 1].
        keys (np.ndarray): (K,) class index of each map.
        fg_thr (float): Background score for confident foreground. Default: 0.30.
        bg_thr (float): Background score for confident background. Default: 0.05.
        crf_preset (str | dict): CRF settings. Default: 'irn_label'.

    Returns:
        np.ndarray: (H, W) uint8 labels, 255 = unsure.
    """
    cams, keys = _check_cams(cams, keys)
    if keys.size == 0:
        return np.zeros(cams.shape[1:], dtype=np.uint8)
    maps = []
    for thr in (fg_thr, bg_thr):
        padded = np.concatenate([np.full((1, *cams.shape[1:]), thr, np.float32), cams])
        index = dense_crf_labels(
            image, padded.argmax(axis=0), len(keys) + 1, preset=crf_preset
        )
        maps.append(_to_classes(index, keys))
    fg_map, bg_map = maps
    labels = np.full(cams.shape[1:], IGNORE_INDEX, dtype=np.uint8)
    labels[fg_map > 0] = fg_map[fg_map > 0]
    labels[(fg_map == 0) & (bg_map == 0)] = 0
    return labels


def _psa_background(cams: np.ndarray, alpha: float) -> np.ndarray:
    """PSA's background score ``(1 - max_c cam) ** alpha`` (the rest clipped
    to [0, 1], so a map a little above 1 cannot give a NaN power)."""
    return (np.clip(1 - cams.max(axis=0), 0, 1) ** alpha).astype(np.float32)


def _bg_crf_classes(
    image: np.ndarray,
    cams: np.ndarray,
    keys: np.ndarray,
    bg: np.ndarray,
    crf_preset: str | dict,
) -> np.ndarray:
    """Class map of the CRF over ``[bg, cams...]`` (normalised per pixel)."""
    probs = dense_crf(image, np.concatenate([bg[None], cams]), preset=crf_preset)
    return _to_classes(probs.argmax(axis=0), keys)


def psa_labels(
    image: np.ndarray,
    cams: np.ndarray,
    keys: np.ndarray,
    alpha_low: float = 4,
    alpha_high: float = 32,
    crf_preset: str | dict = 'psa',
) -> np.ndarray:
    """AffinityNet (PSA) labels from a low- and a high-alpha CRF.

    The background score is ``(1 - max_c cam) ** alpha``; the low alpha gives a
    strong background (its foreground is confident), the high alpha a weak one
    (its background is confident). A pixel takes the low-alpha map's class where
    that map says foreground, 0 where the high-alpha map says background (this
    wins a conflict, as in PSA's reference), and 255 elsewhere.

    Args:
        image (np.ndarray): (H, W, 3) uint8 RGB image.
        cams (np.ndarray): (K, H, W) full-resolution CAMs in [0, 1].
        keys (np.ndarray): (K,) class index of each map.
        alpha_low (float): Exponent of the confident-foreground map. Default: 4.
        alpha_high (float): Exponent of the confident-background map.
            Default: 32.
        crf_preset (str | dict): CRF settings. Default: 'psa'.

    Returns:
        np.ndarray: (H, W) uint8 labels, 255 = unsure.
    """
    cams, keys = _check_cams(cams, keys)
    if keys.size == 0:
        return np.zeros(cams.shape[1:], dtype=np.uint8)
    low = _bg_crf_classes(
        image, cams, keys, _psa_background(cams, alpha_low), crf_preset
    )
    high = _bg_crf_classes(
        image, cams, keys, _psa_background(cams, alpha_high), crf_preset
    )
    labels = np.where(low > 0, low, IGNORE_INDEX).astype(np.uint8)
    labels[high == 0] = 0
    return labels


def crf_seed_labels(
    image: np.ndarray,
    cams: np.ndarray,
    keys: np.ndarray,
    bg_score: float = 0.15,
    crf_preset: str | dict = 'psa',
) -> np.ndarray:
    """CAM + CRF pseudo mask: a constant background score, a CRF, the argmax.

    Args:
        image (np.ndarray): (H, W, 3) uint8 RGB image.
        cams (np.ndarray): (K, H, W) full-resolution CAMs in [0, 1].
        keys (np.ndarray): (K,) class index of each map.
        bg_score (float): Background score before normalisation. Default: 0.15.
        crf_preset (str | dict): CRF settings. Default: 'psa'.

    Returns:
        np.ndarray: (H, W) uint8 class indices (no 255).
    """
    cams, keys = _check_cams(cams, keys)
    if keys.size == 0:
        return np.zeros(cams.shape[1:], dtype=np.uint8)
    bg = np.full(cams.shape[1:], bg_score, dtype=np.float32)
    return _bg_crf_classes(image, cams, keys, bg, crf_preset)


def crf_alpha_seed_labels(
    image: np.ndarray,
    cams: np.ndarray,
    keys: np.ndarray,
    alpha: float = 4.0,
    crf_preset: str | dict = 'psa',
) -> np.ndarray:
    """CAM + CRF pseudo mask with PSA's background ``(1 - max_c cam) ** alpha``.

    At ``alpha = ln t / ln(1 - t)`` the background equals the top CAM score at
    ``t``, so the CRF's unary cuts where :func:`crf_seed_labels` at
    ``bg_score = t`` does, but grows with the CAM's confidence: a score of 0.5
    gives 0.6 against 0.4 after normalisation with a constant background of
    0.33, and 0.5 against 0.15 (0.77) with PSA's at the same crossing
    (alpha 2.77), so the pairwise terms overturn less of a confident map.

    Args:
        image (np.ndarray): (H, W, 3) uint8 RGB image.
        cams (np.ndarray): (K, H, W) full-resolution CAMs in [0, 1].
        keys (np.ndarray): (K,) class index of each map.
        alpha (float): PSA's background exponent. Default: 4.0 (PSA's low
            alpha).
        crf_preset (str | dict): CRF settings. Default: 'psa'.

    Returns:
        np.ndarray: (H, W) uint8 class indices (no 255).
    """
    cams, keys = _check_cams(cams, keys)
    if keys.size == 0:
        return np.zeros(cams.shape[1:], dtype=np.uint8)
    return _bg_crf_classes(image, cams, keys, _psa_background(cams, alpha), crf_preset)


def cam_seed_labels(
    image: np.ndarray, cams: np.ndarray, keys: np.ndarray, bg_score: float = 0.15
) -> np.ndarray:
    """Plain CAM pseudo mask: a constant background score and the argmax.

    The seed that the evaluation protocol scores (no CRF, the same rule as
    :func:`mmwsss.ops.cam.cams_to_labels`), as a label map to train on.

    Args:
        image (np.ndarray): (H, W, 3) uint8 RGB image; only its size is checked.
        cams (np.ndarray): (K, H, W) full-resolution CAMs in [0, 1].
        keys (np.ndarray): (K,) class index of each map.
        bg_score (float): Background score. Default: 0.15.

    Returns:
        np.ndarray: (H, W) uint8 class indices (no 255).
    """
    cams, keys = _check_cams(cams, keys)
    if np.asarray(image).shape[:2] != cams.shape[1:]:
        raise ValueError(
            f'image size {np.asarray(image).shape[:2]} differs from the CAM size '
            f'{cams.shape[1:]}'
        )
    labels = cams_to_labels(torch.from_numpy(cams), torch.from_numpy(keys), bg_score)
    return labels.numpy().astype(np.uint8)


def consensus_labels(maps, ignore_index: int = IGNORE_INDEX) -> np.ndarray:
    """Pixels on which every label map agrees; ``ignore_index`` elsewhere.

    Two pseudo masks made by refinements of a different nature (IRN's walk on
    learned affinities, a colour CRF on the CAMs) err in different places, so
    a pixel they label alike is more likely right, and a final net trained
    with the others ignored learns from fewer wrong labels. A pixel that any
    map leaves unsure (``ignore_index``) stays unsure.

    Args:
        maps: Two or more ``(H, W)`` integer label maps of one image.
        ignore_index (int): The unsure / ignored value. Default: 255.

    Returns:
        np.ndarray: ``(H, W)`` uint8 label map.

    Raises:
        ValueError: With fewer than two maps, or maps of different sizes.
    """
    maps = [np.asarray(m) for m in maps]
    if len(maps) < 2:
        raise ValueError(f'consensus needs two or more label maps, got {len(maps)}')
    shapes = {m.shape for m in maps}
    if len(shapes) != 1 or maps[0].ndim != 2:
        raise ValueError(f'label maps must be (H, W) of one size, got {sorted(shapes)}')
    first = maps[0].astype(np.int64)
    agree = np.ones(first.shape, dtype=bool)
    for other in maps[1:]:
        agree &= other.astype(np.int64) == first
    return np.where(agree, first, ignore_index).astype(np.uint8)
