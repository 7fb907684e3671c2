"""Fully connected CRF (Kraehenbuehl & Koltun) with the presets WSSS methods use.

A thin wrapper around ``pydensecrf`` (package ``pydensecrf2``): it validates the
arrays, makes them C-contiguous float32 / uint8 as the extension requires, and
names the published settings. Each preset holds the Gaussian (smoothness)
kernel's ``gauss_sxy`` / ``gauss_compat``, the bilateral (appearance) kernel's
``bi_sxy`` / ``bi_srgb`` / ``bi_compat``, the number of mean-field ``iters`` and,
for unaries from hard labels, ``gt_prob``.
"""

from __future__ import annotations

import numpy as np

#: PSA / SEAM seeds (AffinityNet labels from CAMs).
PSA_CRF = dict(
    gauss_sxy=3, gauss_compat=3, bi_sxy=80, bi_srgb=13, bi_compat=10, iters=10
)
#: IRN's inter-pixel relation labels (unary from hard labels).
IRN_LABEL_CRF = dict(
    gauss_sxy=3,
    gauss_compat=3,
    bi_sxy=50,
    bi_srgb=5,
    bi_compat=10,
    iters=10,
    gt_prob=0.7,
)
#: DeepLab (v1/v2) test-time post-processing.
DEEPLAB_TEST_CRF = dict(
    gauss_sxy=1, gauss_compat=3, bi_sxy=67, bi_srgb=3, bi_compat=4, iters=10
)

CRF_PRESETS = {
    'psa': PSA_CRF,
    'irn_label': IRN_LABEL_CRF,
    'deeplab_test': DEEPLAB_TEST_CRF,
}

_KEYS = ('gauss_sxy', 'gauss_compat', 'bi_sxy', 'bi_srgb', 'bi_compat', 'iters')
_EPS = 1e-5


def _densecrf():
    try:
        import pydensecrf.densecrf as dcrf
    except ImportError as err:  # pragma: no cover - a declared dependency
        raise ImportError(
            'mmwsss.ops.crf needs pydensecrf: pip install pydensecrf2==1.1 '
            '(builds from source; needs a C++ compiler)'
        ) from err
    return dcrf


def crf_params(preset: str | dict, **overrides) -> dict:
    """Settings of a preset (by name or as a dict) with ``overrides`` applied.

    Args:
        preset (str | dict): A key of :data:`CRF_PRESETS` or a full settings dict.
        **overrides: Replacement values for single settings.

    Returns:
        dict: The merged settings.

    Raises:
        KeyError: If the preset name or an override is unknown.
    """
    if isinstance(preset, str):
        if preset not in CRF_PRESETS:
            raise KeyError(
                f'unknown CRF preset {preset!r}; choose one of {sorted(CRF_PRESETS)}'
            )
        preset = CRF_PRESETS[preset]
    params = dict(preset)
    unknown = set(overrides) - set(_KEYS) - {'gt_prob'}
    if unknown:
        raise KeyError(
            f'unknown CRF settings {sorted(unknown)}; known: {list(_KEYS)} '
            "and 'gt_prob'"
        )
    params.update(overrides)
    missing = [key for key in _KEYS if key not in params]
    if missing:
        raise KeyError(f'CRF settings lack {missing}')
    return params


def _check_image(image: np.ndarray, size: tuple[int, int], what: str) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f'image must be (H, W, 3) RGB, got shape {image.shape}')
    if image.dtype != np.uint8:
        raise ValueError(f'image must be uint8, got {image.dtype}')
    if image.shape[:2] != tuple(size):
        raise ValueError(
            f'image size {image.shape[:2]} (H, W) differs from the {what} size '
            f'{tuple(size)}'
        )
    # pydensecrf takes a writable C-contiguous buffer (PIL's arrays are read-only)
    return np.require(image, requirements=['C', 'W'])


def _inference(image: np.ndarray, unary: np.ndarray, params: dict) -> np.ndarray:
    """Mean-field inference; ``unary`` is (C, H, W) negative log-probabilities."""
    num_labels, height, width = unary.shape
    crf = _densecrf().DenseCRF2D(width, height, num_labels)
    unary = unary.reshape(num_labels, -1).astype(np.float32)
    crf.setUnaryEnergy(np.require(unary, requirements=['C', 'W']))
    crf.addPairwiseGaussian(sxy=params['gauss_sxy'], compat=params['gauss_compat'])
    crf.addPairwiseBilateral(
        sxy=params['bi_sxy'],
        srgb=params['bi_srgb'],
        rgbim=image,
        compat=params['bi_compat'],
    )
    q = crf.inference(int(params['iters']))
    return np.asarray(q, dtype=np.float32).reshape(num_labels, height, width)


def dense_crf(
    image: np.ndarray, probs: np.ndarray, preset: str | dict = 'psa', **overrides
) -> np.ndarray:
    """Refine per-pixel class scores with a dense CRF.

    Args:
        image (np.ndarray): (H, W, 3) uint8 RGB image.
        probs (np.ndarray): (C, H, W) non-negative scores; they are normalised
            per pixel (after clipping at 1e-5), and the unary is ``-log p``.
        preset (str | dict): CRF settings, see :data:`CRF_PRESETS`.
            Default: 'psa'.
        **overrides: Single settings replacing the preset's (e.g. ``iters=5``).

    Returns:
        np.ndarray: (C, H, W) float32 marginal probabilities after inference.

    Raises:
        ValueError: If the shapes, dtypes or values are invalid.
    """
    params = crf_params(preset, **overrides)
    probs = np.asarray(probs)
    if probs.ndim != 3 or probs.shape[0] < 1:
        raise ValueError(f'probs must be (C, H, W) with C >= 1, got {probs.shape}')
    image = _check_image(image, probs.shape[1:], 'probs')
    probs = probs.astype(np.float32)
    if not np.isfinite(probs).all() or (probs < 0).any():
        raise ValueError('probs must be finite and non-negative')
    probs = np.maximum(probs, _EPS)
    probs /= probs.sum(axis=0, keepdims=True)
    return _inference(image, -np.log(probs), params)


def dense_crf_labels(
    image: np.ndarray,
    labels: np.ndarray,
    num_labels: int,
    preset: str | dict = 'irn_label',
    gt_prob: float | None = None,
    **overrides,
) -> np.ndarray:
    """Refine a hard label map with a dense CRF.

    Each pixel's unary gives its label probability ``gt_prob`` and every other
    label ``(1 - gt_prob) / (num_labels - 1)``.

    Args:
        image (np.ndarray): (H, W, 3) uint8 RGB image.
        labels (np.ndarray): (H, W) integer labels in ``0 .. num_labels - 1``.
        num_labels (int): Number of labels.
        preset (str | dict): CRF settings, see :data:`CRF_PRESETS`.
            Default: 'irn_label'.
        gt_prob (float, optional): Confidence in the given labels, in (0, 1).
            Default: None (the preset's, else 0.7).
        **overrides: Single settings replacing the preset's.

    Returns:
        np.ndarray: (H, W) int64 labels after inference.

    Raises:
        ValueError: If the shapes, dtypes or values are invalid.
    """
    params = crf_params(preset, **overrides)
    labels = np.asarray(labels)
    if labels.ndim != 2:
        raise ValueError(f'labels must be (H, W), got shape {labels.shape}')
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f'labels must be integers, got {labels.dtype}')
    image = _check_image(image, labels.shape, 'labels')
    if num_labels < 1:
        raise ValueError(f'num_labels must be >= 1, got {num_labels}')
    if labels.size and (labels.min() < 0 or labels.max() >= num_labels):
        raise ValueError(
            f'labels must lie in 0..{num_labels - 1}, got '
            f'{labels.min()}..{labels.max()}'
        )
    if gt_prob is None:
        gt_prob = params.get('gt_prob', 0.7)
    if not 0 < gt_prob < 1:
        raise ValueError(f'gt_prob must lie in (0, 1), got {gt_prob}')
    if num_labels == 1:
        return np.zeros(labels.shape, dtype=np.int64)
    other = -np.log((1 - gt_prob) / (num_labels - 1))
    unary = np.full((num_labels, *labels.shape), other, dtype=np.float32)
    np.put_along_axis(unary, labels[None].astype(np.int64), -np.log(gt_prob), axis=0)
    return _inference(image, unary, params).argmax(axis=0)
