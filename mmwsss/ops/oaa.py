"""Online attention accumulation (OAA, Jiang et al., ICCV 2019).

During classifier training the attention of each image's classes (the class
map of the training crop, ReLU, divided by its maximum) is accumulated into a
per-image, per-class map by element-wise maximum; the accumulated maps are the
seeds. A training crop covers part of a resized, possibly flipped image:
:func:`crop_attention_to_image` maps its attention back onto the original
image's grid (zero where the crop did not reach), so maps of different epochs,
crops and flips of one image meet on the same grid, keyed by the image's id,
whatever order the loader shuffles the images in.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F


def storage_size(ori_shape, stride: int) -> tuple[int, int]:
    return math.ceil(ori_shape[0] / stride), math.ceil(ori_shape[1] / stride)


def crop_attention_to_image(
    attention: torch.Tensor,
    crop_bbox,
    crop_input_shape,
    ori_shape,
    flip: bool = False,
    flip_direction: str | None = None,
    stride: int = 4,
) -> np.ndarray:
    """A training crop's attention on the original image's grid.

    Args:
        attention (Tensor): ``(h_c, w_c)`` attention of the crop, at the
            crop's pixel size (values in [0, 1]).
        crop_bbox: ``(y1, y2, x1, x2)`` of the crop in the image it was cut
            from (the resized, flipped image, ``crop_input_shape``).
        crop_input_shape: ``(H_r, W_r)`` of that image.
        ori_shape: ``(H, W)`` of the original image.
        flip (bool): Whether that image was flipped. Default: False.
        flip_direction (str, optional): 'horizontal', 'vertical' or
            'diagonal'.
        stride (int): The stored grid's stride on the original image.

    Returns:
        np.ndarray: ``(ceil(H / stride), ceil(W / stride))`` float32 attention,
        zero outside the crop.
    """
    h_r, w_r = (int(v) for v in crop_input_shape[:2])
    y1, _, x1, _ = (int(v) for v in crop_bbox)
    h_c, w_c = attention.shape
    if y1 + h_c > h_r or x1 + w_c > w_r:
        raise ValueError(
            f'a crop of {(h_c, w_c)} at {(y1, x1)} leaves the image of {(h_r, w_r)}'
        )
    canvas = attention.new_zeros((h_r, w_r))
    canvas[y1 : y1 + h_c, x1 : x1 + w_c] = attention
    if flip:
        dims = {'horizontal': [1], 'vertical': [0], 'diagonal': [0, 1]}
        if flip_direction not in dims:
            raise ValueError(f'unknown flip direction {flip_direction!r}')
        canvas = canvas.flip(dims[flip_direction])
    size = storage_size(ori_shape, stride)
    out = F.interpolate(
        canvas[None, None], size=size, mode='bilinear', align_corners=False
    )
    return out[0, 0].clamp(0, 1).cpu().numpy().astype(np.float32)


class AttentionAccumulator:
    """Per image and class, the element-wise maximum of the maps it is given.

    Keyed by image id, so the order of the updates (shuffled loaders) does not
    matter; :meth:`merge` joins the accumulators of several ranks by maximum.
    """

    def __init__(self) -> None:
        self.maps: dict[str, dict[int, np.ndarray]] = {}

    def update(self, image_id: str, cls: int, attention: np.ndarray) -> None:
        per_class = self.maps.setdefault(image_id, {})
        old = per_class.get(int(cls))
        if old is not None and old.shape != attention.shape:
            raise ValueError(
                f'{image_id} class {cls}: a map of {attention.shape} after '
                f'{old.shape}'
            )
        # float16: maps in [0, 1] at half the memory (a VOC-size run keeps
        # every image's maps)
        attention = attention.astype(np.float16)
        per_class[int(cls)] = attention if old is None else np.maximum(old, attention)

    def mark_seen(self, image_id: str) -> None:
        """Record that training saw the image (also one with no class to
        accumulate)."""
        self.maps.setdefault(image_id, {})

    def seen(self, image_id: str) -> bool:
        return image_id in self.maps

    def state(self) -> dict:
        return self.maps

    def load_state(self, state: dict) -> None:
        self.maps = {
            k: {int(c): np.asarray(m) for c, m in v.items()} for k, v in state.items()
        }

    @classmethod
    def merge(cls, states: list[dict]) -> AttentionAccumulator:
        merged = cls()
        for state in states:
            for image_id, per_class in state.items():
                merged.mark_seen(image_id)
                for c, attention in per_class.items():
                    merged.update(image_id, c, np.asarray(attention))
        return merged
