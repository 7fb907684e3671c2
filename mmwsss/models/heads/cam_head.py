"""CAM head: bias-free 1x1 classifier applied to features, global average pooling."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from ...registry import MODELS


@MODELS.register_module()
class CAMHead(BaseModule):
    """Classification head whose 1x1 classifier weights give class activation maps.

    ``cam(x) = conv(x)`` at every position; the image score of a class is the
    spatial mean of its map, which equals the classifier applied to the globally
    average-pooled features (Zhou et al., CVPR 2016).

    Args:
        in_channels (int): Channels of the input feature map.
        num_classes (int): Number of foreground classes (no background channel).
        in_index (int): Which backbone output to use. Default: -1.
        loss_cls (dict): Classification loss config.
            Default: dict(type='MultiLabelSoftMarginLoss').
        init_cfg (dict, optional): Initialization config.
            Default: dict(type='Xavier', layer='Conv2d').
        extra_losses (list[dict], optional): More losses on the class maps,
            built from the registry, each called as ``loss(cam_logits,
            targets, images)`` (``images`` in [0, 1] at the input size) and
            logged under its ``loss_name``, e.g. HFPL's
            ``ImportanceSamplingLoss`` and ``FeatureSimilarityLoss``. A loss
            with a ``mix`` attribute takes that share of the classification
            loss (which is scaled by ``1 - mix``). Default: None.
    """

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        in_index: int = -1,
        loss_cls: dict | None = None,
        init_cfg: dict | None = None,
        extra_losses: list[dict] | None = None,
    ) -> None:
        if init_cfg is None:
            init_cfg = dict(type='Xavier', layer='Conv2d')
        super().__init__(init_cfg=init_cfg)
        if num_classes < 1:
            raise ValueError(f'num_classes must be >= 1, got {num_classes}')
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.in_index = in_index
        self.classifier = nn.Conv2d(in_channels, num_classes, 1, bias=False)
        self.loss_cls = MODELS.build(
            loss_cls if loss_cls is not None else dict(type='MultiLabelSoftMarginLoss')
        )
        self.extra_losses = nn.ModuleList(
            MODELS.build(cfg) for cfg in (extra_losses or [])
        )
        names = [self.loss_cls.loss_name, *(e.loss_name for e in self.extra_losses)]
        if len(set(names)) != len(names):
            raise ValueError(f'loss names must differ, got {names}')
        self.cls_share = 1.0 - sum(getattr(e, 'mix', 0.0) for e in self.extra_losses)
        if self.cls_share <= 0:
            raise ValueError('the extra losses mix away the whole classification loss')

    def _select(self, feats: Sequence[torch.Tensor] | torch.Tensor) -> torch.Tensor:
        if isinstance(feats, torch.Tensor):
            return feats
        return feats[self.in_index]

    def cam(self, feats: Sequence[torch.Tensor] | torch.Tensor) -> torch.Tensor:
        """Class activation logits (N, C, h, w), before the ReLU."""
        return self.classifier(self._select(feats))

    def forward(self, feats: Sequence[torch.Tensor] | torch.Tensor) -> torch.Tensor:
        """Image-level logits (N, C)."""
        return self.cam(feats).mean(dim=(2, 3))

    def loss(
        self,
        feats: Sequence[torch.Tensor] | torch.Tensor,
        targets: torch.Tensor,
        images: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        """Losses from features and (N, C) multi-hot targets (``images`` in
        [0, 1], for extra losses that compare the maps with the image)."""
        if not self.extra_losses:
            logits = self.forward(feats)
            return {self.loss_cls.loss_name: self.loss_cls(logits, targets)}
        cam_logits = self.cam(feats)
        logits = self.forward(feats)
        losses = {
            self.loss_cls.loss_name: self.cls_share * self.loss_cls(logits, targets)
        }
        for extra in self.extra_losses:
            losses[extra.loss_name] = extra(cam_logits, targets, images)
        return losses
