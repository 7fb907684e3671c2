"""Rescaling by a random factor of the image's own size (DeepLab, IRN)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from mmcv.transforms import BaseTransform, Resize
from mmcv.transforms.utils import cache_randomness

from ...registry import TRANSFORMS


@TRANSFORMS.register_module()
class RandomRescale(BaseTransform):
    """Rescale the image and its maps by a random factor of the image's size.

    DeepLab scales each training image by a random factor in 0.5-1.5, and IRN
    rescales each image by 0.5-1.5 before cropping: the factor is relative to
    the image itself. mmcv's :class:`RandomResize` draws the target size
    relative to a fixed ``scale`` instead, so for an image whose long side is
    not that scale the range shifts (``RandomResize(scale=(321, 321),
    ratio_range=(0.5, 1.5))`` gives a 500 px VOC image a long side of 160-481
    px, 0.32-0.96 of it). This one resizes an ``(h, w)`` image to ``(round(h r),
    round(w r))``; the segmentation map follows with nearest sampling (mmcv's
    :class:`Resize`, which also sets ``scale_factor`` and ``img_shape``).

    Args:
        ratio_range (tuple[float, float], optional): Draw ``r`` uniformly in
            this range. Default: None.
        ratios (Sequence[float], optional): Draw ``r`` among these values
            instead (e.g. 0.5, 0.75, 1.0, 1.25, 1.5). Give exactly one of
            ``ratio_range`` and ``ratios``. Default: None.
        interpolation (str): Interpolation of the image. Default: 'bilinear'.
        backend (str): 'cv2' or 'pillow'; PIL's filters widen when shrinking
            (anti-aliased), as IRN's PIL resize. Default: 'cv2'.
    """

    def __init__(
        self,
        ratio_range: tuple[float, float] | None = None,
        ratios: Sequence[float] | None = None,
        interpolation: str = 'bilinear',
        backend: str = 'cv2',
    ) -> None:
        if (ratio_range is None) == (ratios is None):
            raise ValueError(
                'give exactly one of ratio_range (uniform) and ratios (a set), '
                f'got ratio_range={ratio_range}, ratios={ratios}'
            )
        if ratio_range is not None:
            if len(ratio_range) != 2 or not 0 < ratio_range[0] <= ratio_range[1]:
                raise ValueError(
                    f'ratio_range must be (low, high) with 0 < low <= high, '
                    f'got {ratio_range}'
                )
            ratio_range = (float(ratio_range[0]), float(ratio_range[1]))
        if ratios is not None:
            if not len(ratios) or min(ratios) <= 0:
                raise ValueError(f'ratios must be positive numbers, got {ratios}')
            ratios = tuple(float(r) for r in ratios)
        self.ratio_range = ratio_range
        self.ratios = ratios
        self.interpolation = interpolation
        self.backend = backend
        self.resize = Resize(
            scale_factor=1.0,
            keep_ratio=False,
            interpolation=interpolation,
            backend=backend,
        )

    @cache_randomness
    def _random_ratio(self) -> float:
        if self.ratios is not None:
            return self.ratios[np.random.randint(len(self.ratios))]
        return float(np.random.uniform(*self.ratio_range))

    def transform(self, results: dict) -> dict:
        ratio = self._random_ratio()
        height, width = results['img'].shape[:2]
        # (w, h), as mmcv's Resize takes its scale
        self.resize.scale = (
            max(1, int(width * ratio + 0.5)),
            max(1, int(height * ratio + 0.5)),
        )
        return self.resize(results)

    def __repr__(self) -> str:
        return (
            f'{self.__class__.__name__}(ratio_range={self.ratio_range}, '
            f'ratios={self.ratios}, interpolation={self.interpolation!r}, '
            f'backend={self.backend!r})'
        )
