"""OAA+'s loss: the integral attention model's maps against the accumulated
attention."""

from __future__ import annotations

import torch
import torch.nn as nn

from mmwsss.ops.oaa import integral_attention_loss

from ...registry import MODELS


@MODELS.register_module()
class IntegralAttentionLoss(nn.Module):
    """Pixel-wise sigmoid loss with soft positives and balanced negatives.

    See :func:`mmwsss.ops.oaa.integral_attention_loss`: per image, the
    pixel-classes whose target reaches ``pos_thr`` pull their score up with
    the target as weight, the rest (absent classes included) push it down,
    each side averaged over its own count (the Caffe reference's
    ``SigmoidSplitpnProbLossLayer``, the PyTorch reference's ``ExLoss``).

    Args:
        pos_thr (float): Smallest positive target. Default: 1 / 255.
        loss_weight (float): Weight of the loss. Default: 1.0.
        loss_name (str): Name in the log (mmseg convention: starts with
            ``loss_``). Default: 'loss_iam'.
    """

    def __init__(
        self,
        pos_thr: float = 1 / 255,
        loss_weight: float = 1.0,
        loss_name: str = 'loss_iam',
    ) -> None:
        super().__init__()
        if not 0 < pos_thr <= 1:
            raise ValueError(f'pos_thr must lie in (0, 1], got {pos_thr}')
        self.pos_thr = pos_thr
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    def forward(
        self,
        logits: torch.Tensor,
        targets: torch.Tensor,
        valid: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Loss of ``(N, C, h, w)`` score maps against targets of that shape
        (``valid``: ``(N, h, w)`` bool, the pixels that count)."""
        return self.loss_weight * integral_attention_loss(
            logits, targets, valid, self.pos_thr
        )

    @property
    def loss_name(self) -> str:
        return self._loss_name
