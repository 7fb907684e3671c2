"""torchvision's colour jitter on the pipeline's BGR images (PSA's AffinityNet)."""

from __future__ import annotations

import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness
from PIL import Image, ImageEnhance

from ...registry import TRANSFORMS


def _adjust_hue(img: Image.Image, shift: float) -> Image.Image:
    """Rotate the hue of an RGB image by ``shift`` turns (-0.5..0.5)."""
    hue, sat, val = img.convert('HSV').split()
    steps = int(round(shift * 255)) % 256
    hue = (np.asarray(hue, dtype=np.int16) + steps) % 256
    merged = Image.merge('HSV', (Image.fromarray(hue.astype(np.uint8)), sat, val))
    return merged.convert('RGB')


_OPS = dict(
    brightness=lambda img, f: ImageEnhance.Brightness(img).enhance(f),
    contrast=lambda img, f: ImageEnhance.Contrast(img).enhance(f),
    saturation=lambda img, f: ImageEnhance.Color(img).enhance(f),
    hue=_adjust_hue,
)


@TRANSFORMS.register_module()
class ColorJitter(BaseTransform):
    """Random brightness, contrast, saturation and hue, as torchvision's
    ``ColorJitter`` on a PIL image.

    Each change is always applied, with a factor drawn uniformly: brightness,
    contrast and saturation in ``[max(0, 1 - x), 1 + x]`` (PIL's enhancers:
    scale towards black, the mean grey and the grey image), hue a rotation in
    ``[-hue, hue]`` of a full turn; the four run in a random order. PSA trains
    AffinityNet with ``ColorJitter(0.3, 0.3, 0.3, 0.1)``. mmseg's
    :class:`PhotoMetricDistortion` differs: an additive brightness shift and
    each change with probability 0.5. A zero argument skips its change.

    Args:
        brightness (float): Default: 0.0.
        contrast (float): Default: 0.0.
        saturation (float): Default: 0.0.
        hue (float): At most 0.5. Default: 0.0.
    """

    def __init__(
        self,
        brightness: float = 0.0,
        contrast: float = 0.0,
        saturation: float = 0.0,
        hue: float = 0.0,
    ) -> None:
        for name, value in (
            ('brightness', brightness),
            ('contrast', contrast),
            ('saturation', saturation),
        ):
            if value < 0:
                raise ValueError(f'{name} must be >= 0, got {value}')
        if not 0 <= hue <= 0.5:
            raise ValueError(f'hue must be in [0, 0.5], got {hue}')
        self.ranges = {
            name: (max(0.0, 1.0 - value), 1.0 + value)
            for name, value in (
                ('brightness', brightness),
                ('contrast', contrast),
                ('saturation', saturation),
            )
            if value > 0
        }
        if hue > 0:
            self.ranges['hue'] = (-hue, hue)

    @cache_randomness
    def _random_changes(self) -> list[tuple[str, float]]:
        """The changes in the order to apply them, each with its factor."""
        names = list(self.ranges)
        order = np.random.permutation(len(names))
        return [
            (names[i], float(np.random.uniform(*self.ranges[names[i]]))) for i in order
        ]

    def transform(self, results: dict) -> dict:
        img = results['img']
        if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
            raise TypeError(
                f'ColorJitter takes 8-bit 3-channel images, got {img.dtype} '
                f'{img.shape}; load without to_float32'
            )
        rgb = Image.fromarray(np.ascontiguousarray(img[..., ::-1]))
        for name, factor in self._random_changes():
            rgb = _OPS[name](rgb, factor)
        results['img'] = np.ascontiguousarray(np.asarray(rgb)[..., ::-1])
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(ranges={self.ranges})'
