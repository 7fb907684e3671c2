"""PRM's head: class response maps scored by peak stimulation."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from mmwsss.ops.peaks import peak_stimulation

from ...registry import MODELS
from .cam_head import CAMHead


@MODELS.register_module()
class PRMHead(CAMHead):
    """Peak Response Mapping's classification head (Zhou et al., CVPR 2018).

    The class response maps are a 1x1 classifier on the features, as the CAM
    head's but with a per-class bias (PRM's classifier is a 1x1 convolution
    with bias), so a PRM classifier exports its maps as a CAM classifier does;
    the image score of a class is the mean response at its peaks
    (:func:`mmwsss.ops.peaks.peak_stimulation`: 3x3 local maxima, one per
    plateau, at or above the map's median) instead of the mean over the map,
    so the loss reaches the peaks only, each with the score's full gradient
    (PRM's backward).

    Why the bias: a peak sits where the features respond most, so without an
    offset an absent class can only score below zero if its map is negative
    on every other class's objects. Measured on the bench: a bias-free PRM
    classifier stayed at the label prior's loss (0.48 after 3 epochs) while
    the CAM classifier reached 0.35; the trained CAM's peak responses separate
    present from absent classes (mean max 12.6 vs 1.0) only up to an offset.

    Args:
        window (int): Peak neighbourhood. Default: 3 (PRM's).
        upsample (int): Bilinear upsampling of the maps before peak finding
            (PRM's sub-pixel peak locating: 8 on its stride-32 maps,
            corners aligned). Default: 1.
        **kwargs: Passed to :class:`CAMHead`.
    """

    def __init__(self, window: int = 3, upsample: int = 1, **kwargs) -> None:
        super().__init__(**kwargs)
        if upsample < 1:
            raise ValueError(f'upsample must be >= 1, got {upsample}')
        self.window = window
        self.upsample = upsample
        self.bias = nn.Parameter(torch.zeros(self.classifier.out_channels))

    def cam(self, feats: Sequence[torch.Tensor] | torch.Tensor) -> torch.Tensor:
        """Class response maps (N, C, h, w): the classifier plus its bias."""
        return super().cam(feats) + self.bias.view(1, -1, 1, 1)

    def response_maps(
        self, feats: Sequence[torch.Tensor] | torch.Tensor
    ) -> torch.Tensor:
        """The class response maps (N, C, h * upsample, w * upsample) whose
        peaks score the image: :meth:`cam`, upsampled bilinearly with aligned
        corners as PRM does."""
        maps = self.cam(feats)
        if self.upsample > 1:
            maps = F.interpolate(
                maps, scale_factor=self.upsample, mode='bilinear', align_corners=True
            )
        return maps

    def forward(self, feats: Sequence[torch.Tensor] | torch.Tensor) -> torch.Tensor:
        """Image-level logits (N, C): the mean response at each map's peaks."""
        return peak_stimulation(self.response_maps(feats), self.window)
