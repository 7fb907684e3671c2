"""DeepLabV2's ASPP: parallel dilated 3x3 classifiers whose logits are summed."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn
from mmseg.models.decode_heads.decode_head import BaseDecodeHead

from ...registry import MODELS


@MODELS.register_module()
class ASPPV2Head(BaseDecodeHead):
    """Atrous spatial pyramid pooling of DeepLabV2 (Chen et al., TPAMI 2018).

    Each branch is a single 3x3 convolution from the backbone features straight
    to the class logits, with its own dilation; the branches' logits are summed.
    Unlike DeepLabV3's ASPP there is no image pooling branch, no 256-channel
    projection and no normalisation, so the head has no ``conv_seg``: its
    branches are the classifiers.

    Args:
        dilations (Sequence[int]): Dilation of each branch.
            Default: (6, 12, 18, 24).
        dropout_ratio (float): Dropout on the features before the branches.
            Default: 0.0 (the published ResNet DeepLabV2 has none).
        init_cfg (dict, optional): Initialization config.
            Default: normal weights with std 0.01 and zero biases on the
            branches, as DeepLabV2 initialises its classifiers.
        **kwargs: Passed to :class:`mmseg.models.decode_heads.BaseDecodeHead`
            (``in_channels``, ``num_classes``, ``in_index``, ``loss_decode``,
            ...). ``channels`` is not an argument: it equals ``in_channels``.
    """

    def __init__(
        self,
        dilations: Sequence[int] = (6, 12, 18, 24),
        dropout_ratio: float = 0.0,
        init_cfg: dict | None = None,
        **kwargs,
    ) -> None:
        if 'channels' in kwargs:
            raise TypeError(
                'ASPPV2Head has no channels argument: its dilated branches map '
                'in_channels straight to the class logits'
            )
        if not dilations or any(int(d) < 1 for d in dilations):
            raise ValueError(f'dilations must be positive integers, got {dilations}')
        if init_cfg is None:
            init_cfg = dict(type='Normal', std=0.01, bias=0, override=dict(name='aspp'))
        in_channels = kwargs.pop('in_channels')
        super().__init__(
            in_channels=in_channels,
            channels=in_channels,
            dropout_ratio=dropout_ratio,
            init_cfg=init_cfg,
            **kwargs,
        )
        self.dilations = tuple(int(d) for d in dilations)
        # the branches replace the 1x1 conv_seg of BaseDecodeHead
        del self.conv_seg
        self.aspp = nn.ModuleList(
            nn.Conv2d(
                self.in_channels,
                self.out_channels,
                kernel_size=3,
                padding=d,
                dilation=d,
                bias=True,
            )
            for d in self.dilations
        )

    def forward(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        """Sum of the branches' logits, (N, out_channels, h, w)."""
        x = self._transform_inputs(inputs)
        if self.dropout is not None:
            x = self.dropout(x)
        logits = self.aspp[0](x)
        for branch in self.aspp[1:]:
            logits = logits + branch(x)
        return logits
