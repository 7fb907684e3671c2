"""PRM's head: class response maps scored by peak stimulation."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from mmwsss.ops.peaks import peak_stimulation

from ...registry import MODELS
from .cam_head import CAMHead


@MODELS.register_module()
class PRMHead(CAMHead):
    """Peak Response Mapping's classification head (Zhou et al., CVPR 2018).

    The class response maps are the CAM head's (a bias-free 1x1 classifier on
    the features, :meth:`CAMHead.cam`, so a PRM classifier exports its maps as
    a CAM classifier does); the image score of a class is the mean response
    at its peaks (:func:`mmwsss.ops.peaks.peak_stimulation`: 3x3 local maxima
    above the map's median) instead of the mean over the map, so the loss
    reaches the peaks only.

    Args:
        window (int): Peak neighbourhood. Default: 3 (PRM's).
        upsample (int): Bilinear upsampling of the maps before peak finding
            (PRM upsamples its stride-32 maps). Default: 1.
        **kwargs: Passed to :class:`CAMHead`.
    """

    def __init__(self, window: int = 3, upsample: int = 1, **kwargs) -> None:
        super().__init__(**kwargs)
        if upsample < 1:
            raise ValueError(f'upsample must be >= 1, got {upsample}')
        self.window = window
        self.upsample = upsample

    def forward(self, feats: Sequence[torch.Tensor] | torch.Tensor) -> torch.Tensor:
        """Image-level logits (N, C): the mean response at each map's peaks."""
        maps = self.cam(feats)
        if self.upsample > 1:
            maps = F.interpolate(
                maps, scale_factor=self.upsample, mode='bilinear', align_corners=False
            )
        return peak_stimulation(maps, self.window)
