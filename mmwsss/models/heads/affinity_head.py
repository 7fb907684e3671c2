"""AffinityNet's feature head (Ahn & Kwak, CVPR 2018)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule

from ...registry import MODELS


@MODELS.register_module()
class AffinityHead(BaseModule):
    """Affinity features from several backbone levels.

    As in PSA's reference network: each selected level goes through a bias-free
    1x1 conv (PSA: 64, 128 and 256 channels for its three deepest levels) and
    an ELU; the levels are resized (bilinear) to the first selected level, the
    stride-8 map, concatenated, and mapped by a bias-free 1x1 conv to
    ``out_channels`` (PSA: 448) followed by an ELU. The projections start from
    Kaiming-normal weights, the last conv from Xavier-uniform weights with gain
    4 (PSA's initialisation), unless ``init_cfg`` says otherwise.

    The affinity of two pixels is ``exp(-mean_c |f_i - f_j|)`` of these
    features (:func:`~mmwsss.ops.affinity_from_features`).

    Args:
        in_channels (Sequence[int]): Channels of each selected level.
        channels (Sequence[int]): Projection width of each selected level.
            Default: (64, 128, 256).
        out_channels (int): Channels of the affinity features. Default: 448.
        in_index (Sequence[int], optional): Which backbone outputs to use, the
            first being the map the others are resized to. Default: None (all
            outputs, in order).
        init_cfg (dict, optional): Initialization config. Default: None.
    """

    def __init__(
        self,
        in_channels: Sequence[int],
        channels: Sequence[int] = (64, 128, 256),
        out_channels: int = 448,
        in_index: Sequence[int] | None = None,
        init_cfg: dict | None = None,
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        if not in_channels or len(in_channels) != len(channels):
            raise ValueError(
                f'in_channels {tuple(in_channels)} and channels {tuple(channels)} '
                'must list the same, non-zero number of levels'
            )
        if in_index is not None and len(in_index) != len(in_channels):
            raise ValueError(
                f'in_index {tuple(in_index)} must select one level per entry of '
                f'in_channels {tuple(in_channels)}'
            )
        self.in_channels = tuple(in_channels)
        self.channels = tuple(channels)
        self.out_channels = out_channels
        self.in_index = None if in_index is None else tuple(in_index)
        self.projections = nn.ModuleList(
            nn.Conv2d(c_in, c_out, 1, bias=False)
            for c_in, c_out in zip(self.in_channels, self.channels)
        )
        self.fuse = nn.Conv2d(sum(self.channels), out_channels, 1, bias=False)
        for conv in self.projections:
            nn.init.kaiming_normal_(conv.weight)
        nn.init.xavier_uniform_(self.fuse.weight, gain=4)

    def _select(self, feats: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        if self.in_index is not None:
            feats = [feats[i] for i in self.in_index]
        if len(feats) != len(self.in_channels):
            raise ValueError(
                f'the head expects {len(self.in_channels)} feature levels '
                f'(in_channels={self.in_channels}) but got {len(feats)}; match the '
                'backbone out_indices or set in_index'
            )
        return list(feats)

    def forward(self, feats: Sequence[torch.Tensor]) -> torch.Tensor:
        """Affinity features ``(N, out_channels, h, w)`` on the first level's map."""
        feats = self._select(feats)
        size = feats[0].shape[-2:]
        projected = []
        for conv, x in zip(self.projections, feats):
            x = F.elu(conv(x))
            if x.shape[-2:] != size:
                x = F.interpolate(x, size=size, mode='bilinear', align_corners=False)
            projected.append(x)
        return F.elu(self.fuse(torch.cat(projected, dim=1)))
