"""Multi-label soft margin loss, the classification loss of CAM methods."""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ...registry import MODELS


@MODELS.register_module()
class MultiLabelSoftMarginLoss(nn.Module):
    """Mean over classes of the binary cross-entropy of sigmoid scores.

    Args:
        loss_weight (float): Weight of the loss. Default: 1.0.
        loss_name (str): Name of the loss in the log (mmseg convention: must start
            with ``loss_`` to be back-propagated). Default: 'loss_cls'.
    """

    def __init__(self, loss_weight: float = 1.0, loss_name: str = 'loss_cls') -> None:
        super().__init__()
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Loss of (N, C) logits against (N, C) multi-hot targets."""
        if logits.shape != targets.shape:
            raise ValueError(
                f'logits {tuple(logits.shape)} and targets {tuple(targets.shape)} '
                'must have the same shape'
            )
        return self.loss_weight * F.multilabel_soft_margin_loss(logits, targets.float())

    @property
    def loss_name(self) -> str:
        return self._loss_name
