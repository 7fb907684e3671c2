"""IRNet's boundary and displacement branches (Ahn, Cho & Kwak, CVPR 2019).

Both heads take the multi-level features of a frozen backbone (shallow to deep)
and predict at a given output size, the stride-4 map of the input. Their widths
follow IRN's reference network (32-channel side outputs for the boundary; 64 /
128 / 256-channel layers for the displacement), sized by ``in_channels`` so any
backbone with several levels fits.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule

from ...registry import MODELS


def _group_norm(channels: int) -> nn.GroupNorm:
    """GroupNorm with IRN's group counts (64 ch: 8 groups, 128 and 256 ch: 16)."""
    groups = math.gcd(channels, min(16, max(1, channels // 8)))
    return nn.GroupNorm(groups, channels)


def _resize(x: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x, size=tuple(size), mode='bilinear', align_corners=False)


class _SideOutput(nn.Module):
    """1x1 conv (no bias) -> GroupNorm -> resize -> ReLU, as in IRN."""

    def __init__(self, in_channels: int, channels: int, norm: nn.GroupNorm):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, channels, 1, bias=False)
        self.norm = norm

    def forward(self, x: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
        return F.relu(_resize(self.norm(self.conv(x)), size))


class MeanShift(nn.Module):
    """Remove the mean displacement seen in training (IRN's last layer).

    IRN's loss constrains only differences ``D(i) - D(j)``, so the field is free
    up to a constant. In training this layer passes its input through and keeps
    a running mean of it per channel (like batch norm statistics); in eval mode
    it subtracts that mean.

    Args:
        num_channels (int): Channels of the field.
        momentum (float): Update rate of the running mean. Default: 0.1.
    """

    def __init__(self, num_channels: int, momentum: float = 0.1) -> None:
        super().__init__()
        self.momentum = momentum
        self.register_buffer('running_mean', torch.zeros(num_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            with torch.no_grad():
                batch_mean = x.detach().mean(dim=(0, 2, 3))
                self.running_mean.lerp_(batch_mean, self.momentum)
            return x
        return x - self.running_mean.view(1, -1, 1, 1)


def _check_levels(in_channels: Sequence[int], feats: Sequence[torch.Tensor]) -> None:
    if len(feats) != len(in_channels):
        raise ValueError(
            f'the head expects {len(in_channels)} feature levels (in_channels='
            f'{tuple(in_channels)}) but got {len(feats)}; match the backbone '
            'out_indices'
        )


@MODELS.register_module()
class IRNBoundaryHead(BaseModule):
    """Class boundary branch: one side output per level, fused by a 1x1 conv.

    Each level goes through a 1x1 conv to ``channels`` (no bias), GroupNorm,
    bilinear resize to the output size and ReLU; the concatenation is mapped to
    one boundary logit per pixel (sigmoid gives the boundary probability).

    Args:
        in_channels (Sequence[int]): Channels of each backbone level.
        channels (int): Channels of every side output. Default: 32.
        num_groups (int): GroupNorm groups of the side outputs. Default: 4.
        init_cfg (dict, optional): Initialization config. Default: None.
    """

    def __init__(
        self,
        in_channels: Sequence[int],
        channels: int = 32,
        num_groups: int = 4,
        init_cfg: dict | None = None,
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        if not in_channels:
            raise ValueError('in_channels must list at least one level')
        self.in_channels = tuple(in_channels)
        self.side_outputs = nn.ModuleList(
            _SideOutput(c, channels, nn.GroupNorm(num_groups, channels))
            for c in self.in_channels
        )
        self.fuse = nn.Conv2d(channels * len(self.in_channels), 1, 1, bias=True)

    def forward(
        self, feats: Sequence[torch.Tensor], size: Sequence[int]
    ) -> torch.Tensor:
        """Boundary logits ``(N, 1, *size)``."""
        _check_levels(self.in_channels, feats)
        sides = [side(x, size) for side, x in zip(self.side_outputs, feats)]
        return self.fuse(torch.cat(sides, dim=1))


@MODELS.register_module()
class IRNDisplacementHead(BaseModule):
    """Displacement branch: a coarse-to-fine fusion to a 2-channel field.

    The coarse levels (every level not in ``fine_levels``) are each mapped to
    ``coarse_channels`` at the size of the first coarse level (stride 8 for
    IRN's ResNet-50), fused by a 1x1 conv to ``channels`` and resized to the
    output size. The fine levels are mapped to ``fine_channels`` at the output
    size. Everything is concatenated, fused to ``channels``, and a bias-free 1x1
    conv gives the field ``(dy, dx)``, followed by :class:`MeanShift`. Every 1x1
    conv is followed by GroupNorm and ReLU (but the last).

    Args:
        in_channels (Sequence[int]): Channels of each backbone level.
        fine_levels (Sequence[int]): Levels fused at the output size (IRN: the
            stride-4 ones). Default: (0, 1).
        fine_channels (Sequence[int]): Output channels of each fine level.
            Default: (64, 128).
        coarse_channels (int): Output channels of each coarse level.
            Default: 256.
        channels (int): Channels of the fusion layers. Default: 256.
        init_cfg (dict, optional): Initialization config. Default: None.
    """

    def __init__(
        self,
        in_channels: Sequence[int],
        fine_levels: Sequence[int] = (0, 1),
        fine_channels: Sequence[int] = (64, 128),
        coarse_channels: int = 256,
        channels: int = 256,
        init_cfg: dict | None = None,
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        self.in_channels = tuple(in_channels)
        self.fine_levels = tuple(fine_levels)
        self.coarse_levels = tuple(
            i for i in range(len(self.in_channels)) if i not in self.fine_levels
        )
        if any(i not in range(len(self.in_channels)) for i in self.fine_levels):
            raise ValueError(
                f'fine_levels {self.fine_levels} must index in_channels '
                f'{self.in_channels}'
            )
        if len(fine_channels) != len(self.fine_levels):
            raise ValueError(
                f'fine_channels {tuple(fine_channels)} needs one entry per fine '
                f'level {self.fine_levels}'
            )
        if not self.coarse_levels:
            raise ValueError('at least one level must be coarse (not in fine_levels)')
        self.fine = nn.ModuleList(
            _SideOutput(self.in_channels[i], c, _group_norm(c))
            for i, c in zip(self.fine_levels, fine_channels)
        )
        self.coarse = nn.ModuleList(
            _SideOutput(
                self.in_channels[i], coarse_channels, _group_norm(coarse_channels)
            )
            for i in self.coarse_levels
        )
        self.coarse_fuse = _SideOutput(
            coarse_channels * len(self.coarse_levels), channels, _group_norm(channels)
        )
        self.fuse = _SideOutput(
            sum(fine_channels) + channels, channels, _group_norm(channels)
        )
        self.out = nn.Conv2d(channels, 2, 1, bias=False)
        self.mean_shift = MeanShift(2)

    def forward(
        self, feats: Sequence[torch.Tensor], size: Sequence[int]
    ) -> torch.Tensor:
        """Displacement field ``(N, 2, *size)`` of ``(dy, dx)`` in map pixels."""
        _check_levels(self.in_channels, feats)
        coarse_size = feats[self.coarse_levels[0]].shape[-2:]
        coarse = [
            layer(feats[i], coarse_size)
            for layer, i in zip(self.coarse, self.coarse_levels)
        ]
        coarse = self.coarse_fuse(torch.cat(coarse, dim=1), size)
        fine = [layer(feats[i], size) for layer, i in zip(self.fine, self.fine_levels)]
        fused = self.fuse(torch.cat([*fine, coarse], dim=1), size)
        return self.mean_shift(self.out(fused))
