"""Geometric transforms that record what they did, so that maps computed on
their output can be put back onto the original image (OAA's accumulation)."""

from __future__ import annotations

from mmseg.datasets.transforms import RandomCrop

from ...registry import TRANSFORMS


@TRANSFORMS.register_module()
class RandomCropRecorded(RandomCrop):
    """mmseg's :class:`RandomCrop` that records the crop.

    Adds ``crop_bbox`` (``(y1, y2, x1, x2)`` as drawn; the crop keeps the part
    inside the image) and ``crop_input_shape`` (``(H, W)`` of the image it was
    cut from) to the results; :class:`PackWSSSInputs` packs both into the
    metainfo. With the resize's ``scale_factor`` and the flip's ``flip`` /
    ``flip_direction``, :func:`mmwsss.ops.oaa.crop_attention_to_image` maps a
    map of the crop back onto the original image.

    Args:
        **kwargs: Passed to :class:`mmseg.datasets.transforms.RandomCrop`.
    """

    def crop_bbox(self, results: dict) -> tuple:
        bbox = super().crop_bbox(results)
        results['crop_bbox'] = tuple(int(v) for v in bbox)
        results['crop_input_shape'] = tuple(int(v) for v in results['img'].shape[:2])
        return bbox
