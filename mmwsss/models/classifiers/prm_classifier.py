"""PRM classifier: peak stimulation in training, peak response maps at test."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from mmseg.structures import SegDataSample

from mmwsss.ops.cam import strided_size
from mmwsss.ops.peaks import peak_mask, peak_response_maps

from ...registry import MODELS
from .cam_classifier import CAMClassifier

#: PRM's settings of ``test_cfg`` (merged over :class:`CAMClassifier`'s).
PRM_TEST_CFG = dict(peak_min_score=0.0, prm_stride=1)


@MODELS.register_module()
class PRMClassifier(CAMClassifier):
    """Peak Response Mapping (Zhou et al., CVPR 2018) on a CAM classifier.

    The head is a :class:`~mmwsss.models.heads.PRMHead` (peak stimulation in
    training). ``predict`` (at test; validation scores the classifier
    only) adds to the CAM classifier's fields (the
    multi-scale maps that the threshold and label stages read) PRM's visual
    cues of the classes in ``cam_keys``, from the image at scale 1 without
    flip, as PRM infers:

    - ``prm_class_maps`` (Tensor, (K, h, w)): the raw class response maps on
      the head's grid (:meth:`PRMHead.response_maps`);
    - ``peak_labels`` (Tensor, (P,)): the class index of each peak, peaks of
      :func:`~mmwsss.ops.peaks.peak_mask` (3x3 local maxima, one per plateau,
      at or above the median) whose response is positive and at least
      ``peak_min_score`` times the map's maximum;
    - ``peak_grid`` (Tensor, (P, 2)): ``(y, x)`` on the response grid;
    - ``peak_points`` (Tensor, (P, 2)): ``(y, x)`` in original image pixels
      (the centre of the peak's grid cell);
    - ``peak_values`` (Tensor, (P,)): the raw response at the peak;
    - ``peak_responses`` (Tensor, (P, H', W')): the peak response maps
      (:func:`~mmwsss.ops.peaks.peak_response_maps`), resized to the original
      image at ``prm_stride`` (``H' = ceil(H / prm_stride)``), each summing
      to 1.

    Args:
        test_cfg (dict, optional): :class:`CAMClassifier`'s settings and
            ``peak_min_score`` (a fraction of the class map's maximum; 0 keeps
            every peak with a positive response, PRM's training peaks) and
            ``prm_stride`` (storage stride of the peak response maps; 1 keeps
            the image size). Default: None.
        **kwargs: Passed to :class:`CAMClassifier`.
    """

    def __init__(self, test_cfg: dict | None = None, **kwargs) -> None:
        super().__init__(test_cfg={**PRM_TEST_CFG, **(test_cfg or {})}, **kwargs)
        if not hasattr(self.head, 'response_maps'):
            raise TypeError(
                f'PRMClassifier needs a head with response_maps (PRMHead), got '
                f'{type(self.head).__name__}'
            )
        if self.test_cfg.prm_stride < 1:
            raise ValueError(f'prm_stride must be >= 1, got {self.test_cfg}')

    def response_maps(self, inputs: torch.Tensor) -> torch.Tensor:
        """Class response maps (N, C, h, w) of a batch (the head's grid)."""
        return self.head.response_maps(self.extract_feat(inputs))

    def peak_cues(self, image: torch.Tensor, keys: torch.Tensor, ori_size) -> dict:
        """PRM's cues of one ``(3, H, W)`` image for the classes ``keys``
        (1-based), as the fields listed in the class doc."""
        with torch.no_grad():
            maps = self.response_maps(image[None])[0, keys - 1]  # [K, h, w]
        height, width = maps.shape[-2:]
        top = maps.flatten(1).amax(dim=1).view(-1, 1, 1)  # [K, 1, 1]
        keep = (
            peak_mask(maps, self.head.window)
            & (maps > 0)
            & (maps >= self.test_cfg.peak_min_score * top)
        )
        k, y, x = torch.nonzero(keep, as_tuple=True)
        _, prms = peak_response_maps(
            self,
            self.response_maps,
            image[None],
            list(zip((keys[k] - 1).tolist(), y.tolist(), x.tolist())),
        )
        out_size = strided_size(ori_size, self.test_cfg.prm_stride)
        if len(prms):
            prms = F.interpolate(
                prms[:, None], size=out_size, mode='bilinear', align_corners=False
            )[:, 0].clamp(min=0)
            prms = prms / prms.flatten(1).sum(1).clamp(min=1e-12).view(-1, 1, 1)
        else:
            prms = maps.new_zeros((0, *out_size))
        grid = torch.stack([y, x], dim=1)
        return dict(
            prm_class_maps=maps,
            peak_labels=keys[k],
            peak_grid=grid,
            peak_points=self._grid_to_image(grid, (height, width), ori_size),
            peak_values=maps[k, y, x],
            peak_responses=prms,
        )

    def _grid_to_image(self, grid: torch.Tensor, grid_size, ori_size) -> torch.Tensor:
        """Original-image pixel of grid positions: the centre of the backbone
        cell they lie in (the upsampling aligns the coarse cells' centres)."""
        factor = self.head.upsample
        points = []
        for axis in range(2):
            fine, size = grid_size[axis], ori_size[axis]
            coarse = max(fine // factor, 1)
            pos = grid[:, axis].float()
            if factor > 1 and fine > 1:
                pos = pos * (coarse - 1) / (fine - 1)
            pixel = ((pos + 0.5) * size / coarse).floor().long()
            points.append(pixel.clamp(0, size - 1))
        return torch.stack(points, dim=1)

    def val_step(self, data) -> list:
        """Validation scores the classifier (``pred_scores``): it predicts
        without PRM's cues (no peak backpropagation)."""
        self._skip_cues = True
        try:
            return super().val_step(data)
        finally:
            self._skip_cues = False

    def predict(
        self, inputs: torch.Tensor, data_samples: list[SegDataSample] | None = None
    ) -> list[SegDataSample]:
        data_samples = super().predict(inputs, data_samples)
        if getattr(self, '_skip_cues', False):
            return data_samples
        for image, sample in zip(inputs, data_samples):
            img_h, img_w = sample.metainfo.get('img_shape', image.shape[-2:])[:2]
            ori_size = tuple(sample.metainfo.get('ori_shape', (img_h, img_w))[:2])
            cues = self.peak_cues(
                image[:, :img_h, :img_w], sample.cam_keys.long(), ori_size
            )
            for name, value in cues.items():
                sample.set_field(value, name)
        return data_samples
