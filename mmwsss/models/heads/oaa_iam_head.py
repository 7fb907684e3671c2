"""OAA+'s integral attention head: a small conv stack scoring every pixel."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from mmwsss.ops.oaa import resize_targets

from ...registry import MODELS


@MODELS.register_module()
class IntegralAttentionHead(BaseModule):
    """The integral attention model's head (OAA+, Jiang et al., ICCV 2019).

    ``num_convs`` 3x3 convolutions of ``channels`` with ReLU, then a 1x1
    convolution with bias to one map per foreground class (the reference's
    ``extra_convs``, Gaussian init with std 0.01, zero bias). The maps are
    trained pixel by pixel against the accumulated attention (``loss``,
    :class:`~mmwsss.models.losses.IntegralAttentionLoss`); their spatial mean
    is the image score (``forward``, logged only: OAA+ trains no image-level
    loss), so an integral attention model exports its maps as a CAM
    classifier does.

    Args:
        in_channels (int): Channels of the input feature map.
        num_classes (int): Number of foreground classes.
        channels (int): Channels of the 3x3 convolutions. Default: 512.
        num_convs (int): Number of 3x3 convolutions. Default: 3.
        in_index (int): Which backbone output to use. Default: -1.
        loss (dict): Loss config.
            Default: dict(type='IntegralAttentionLoss').
        init_cfg (dict, optional): Initialization config.
            Default: Normal(std=0.01, bias=0) on the convolutions.
    """

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        channels: int = 512,
        num_convs: int = 3,
        in_index: int = -1,
        loss: dict | None = None,
        init_cfg: dict | None = None,
    ) -> None:
        if init_cfg is None:
            init_cfg = dict(type='Normal', layer='Conv2d', std=0.01, bias=0)
        super().__init__(init_cfg=init_cfg)
        if num_classes < 1:
            raise ValueError(f'num_classes must be >= 1, got {num_classes}')
        self.num_classes = num_classes
        self.in_index = in_index
        layers = []
        for i in range(num_convs):
            layers += [
                nn.Conv2d(in_channels if i == 0 else channels, channels, 3, padding=1),
                nn.ReLU(inplace=True),
            ]
        self.convs = nn.Sequential(*layers)
        self.classifier = nn.Conv2d(
            channels if num_convs else in_channels, num_classes, 1
        )
        self.loss_iam = MODELS.build(
            loss if loss is not None else dict(type='IntegralAttentionLoss')
        )

    def _select(self, feats: Sequence[torch.Tensor] | torch.Tensor) -> torch.Tensor:
        if isinstance(feats, torch.Tensor):
            return feats
        return feats[self.in_index]

    def cam(self, feats: Sequence[torch.Tensor] | torch.Tensor) -> torch.Tensor:
        """Attention logits (N, C, h, w), before the ReLU."""
        return self.classifier(self.convs(self._select(feats)))

    def forward(self, feats: Sequence[torch.Tensor] | torch.Tensor) -> torch.Tensor:
        """Image-level scores (N, C): the mean of each map."""
        return self.cam(feats).mean(dim=(2, 3))

    def loss(
        self,
        feats: Sequence[torch.Tensor] | torch.Tensor,
        targets: torch.Tensor,
        valid: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        """The loss of the maps against ``(N, C, H, W)`` targets (``valid``:
        ``(N, H, W)`` bool, the pixels that count), area-averaged to the maps'
        size when they differ (the reference's targets are at its score map's
        size; :func:`mmwsss.ops.oaa.resize_targets`)."""
        maps = self.cam(feats)
        if valid is None:
            valid = torch.ones_like(targets[:, 0], dtype=torch.bool)
        targets, valid = resize_targets(targets, valid, maps.shape[-2:])
        return {self.loss_iam.loss_name: self.loss_iam(maps, targets, valid)}
