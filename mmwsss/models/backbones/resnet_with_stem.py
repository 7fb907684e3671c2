"""mmseg's ResNet that also returns its stem's output (IRN's five levels)."""

from __future__ import annotations

import torch
from mmseg.models.backbones import ResNet

from ...registry import MODELS


@MODELS.register_module()
class ResNetWithStem(ResNet):
    """:class:`mmseg.models.backbones.ResNet` whose outputs start with the stem's.

    IRN (Ahn, Cho & Kwak, CVPR 2019) feeds its boundary and displacement
    branches from five levels of a ResNet-50: the stem after max pooling (64
    channels, stride 4) and the four residual stages. mmseg's ResNet returns
    only the stages listed in ``out_indices``; this one returns the stem's
    output first, then those stages. Parameters, weights (``init_cfg``,
    ``pretrained``), freezing and ``norm_eval`` are mmseg's, unchanged.

    Args:
        **kwargs: Passed to :class:`mmseg.models.backbones.ResNet` (``depth``,
            ``strides``, ``dilations``, ``out_indices``, ``deep_stem``, ...).
    """

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """The stem's output (after max pooling), then the stages in
        ``out_indices``."""
        if self.deep_stem:
            x = self.stem(x)
        else:
            x = self.relu(self.norm1(self.conv1(x)))
        x = self.maxpool(x)
        outs = [x]
        for i, layer_name in enumerate(self.res_layers):
            x = getattr(self, layer_name)(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)
