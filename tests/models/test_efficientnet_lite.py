import pytest
import torch

from mmwsss.models.backbones import EfficientNetLite


@pytest.mark.parametrize('output_stride', [16, 32])
def test_levels_shapes(output_stride):
    net = EfficientNetLite(
        out_indices=(0, 1, 2, 3, 4), output_stride=output_stride, pretrained=False
    )
    net.init_weights()
    outs = net(torch.randn(1, 3, 64, 96))
    strides = (2, 4, 8, 16, output_stride)
    assert [o.shape[1] for o in outs] == list(net.out_channels)
    for out, stride in zip(outs, strides):
        assert out.shape[-2:] == (64 // stride, 96 // stride)


def test_pretrained_weights_load_and_freeze():
    net = EfficientNetLite(frozen_stages=1, pretrained=True)
    net.init_weights()
    # ImageNet batch-norm statistics are not the defaults of a fresh layer
    assert not torch.allclose(net.stem[1].running_mean, torch.zeros(32))
    net.train()
    assert not any(p.requires_grad for p in net.stem.parameters())
    assert not any(p.requires_grad for p in net.blocks[0].parameters())
    assert all(p.requires_grad for p in net.blocks[1].parameters())
    # norm_eval keeps batch norm in eval mode while training
    assert not net.blocks[5]._bn1.training


def test_bad_arguments():
    with pytest.raises(ValueError, match='output_stride'):
        EfficientNetLite(output_stride=8, pretrained=False)
    with pytest.raises(ValueError, match='out_indices'):
        EfficientNetLite(out_indices=(5,), pretrained=False)
