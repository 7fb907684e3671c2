import pytest
import torch

from mmwsss.models.backbones import EfficientNetLite


@pytest.mark.parametrize('output_stride', [8, 16, 32])
def test_levels_shapes(output_stride):
    net = EfficientNetLite(
        out_indices=(0, 1, 2, 3, 4), output_stride=output_stride, pretrained=False
    )
    net.init_weights()
    outs = net(torch.randn(1, 3, 64, 96))
    strides = (2, 4, 8, min(16, output_stride), output_stride)
    assert [o.shape[1] for o in outs] == list(net.out_channels)
    for out, stride in zip(outs, strides):
        assert out.shape[-2:] == (64 // stride, 96 // stride)


def test_pretrained_weights_load_and_freeze():
    net = EfficientNetLite(frozen_stages=1, pretrained=True)
    # frozen once built: a DDP wrapper (made before train()) skips them
    assert not any(p.requires_grad for p in net.stem.parameters())
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
        EfficientNetLite(output_stride=4, pretrained=False)
    with pytest.raises(ValueError, match='out_indices'):
        EfficientNetLite(out_indices=(5,), pretrained=False)


@pytest.mark.parametrize('coarse, fine', [(32, 16), (16, 8)])
def test_dilation_is_the_atrous_algorithm(coarse, fine):
    """A dilated network computes the strided one's features on a finer grid.

    The package pads stride-2 convs TF-style ("same", less on the top / left),
    so a strided output i looks at the input around 2i + 1: the odd positions
    of the finer map hold exactly the coarser network's values.
    """
    nets = []
    for stride in (coarse, fine):
        net = EfficientNetLite(out_indices=(4,), output_stride=stride, pretrained=True)
        net.init_weights()  # ImageNet weights: a random net's outputs vanish
        nets.append(net.eval())
    x = torch.randn(1, 3, 64, 96, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        (a,), (b,) = (net(x) for net in nets)
    assert b.shape[-2:] == (2 * a.shape[-2], 2 * a.shape[-1])
    assert a.std() > 0.1
    assert torch.allclose(b[..., 1::2, 1::2], a, atol=1e-4 * a.abs().max().item())


def test_channels_last_is_the_same_network():
    """The NHWC layout changes the memory order only: outputs and gradients
    match the NCHW network's, the outputs come back NCHW-contiguous (heads may
    `view` them) and the weights stay NHWC after loading a state dict."""
    nets = []
    for channels_last in (False, True):
        net = EfficientNetLite(
            out_indices=(2, 4), channels_last=channels_last, pretrained=True
        )
        net.init_weights()
        nets.append(net)
    nets[1].load_state_dict(nets[0].state_dict())
    conv = nets[1].stem[0].weight  # 3x3 over 3 channels: the layouts differ
    assert conv.is_contiguous(memory_format=torch.channels_last)
    assert not conv.is_contiguous()
    x = torch.randn(2, 3, 64, 96, generator=torch.Generator().manual_seed(0))
    results = []
    for net in nets:
        net.train()
        outs = net(x)
        sum((out**2).mean() for out in outs).backward()
        results.append((outs, net.head[0].weight.grad))
    (ref, ref_grad), (outs, grad) = results
    for out, expected in zip(outs, ref):
        assert out.is_contiguous()
        assert expected.abs().max() > 0.1
        assert torch.allclose(out, expected, atol=1e-5 * expected.abs().max().item())
    assert torch.allclose(grad, ref_grad, atol=1e-4 * ref_grad.abs().max().item())


def test_same_features_as_the_package_network():
    """At output stride 32 the backbone is the package's EfficientNet-Lite0
    (same weights, its own padding scheme): the head features agree."""
    from efficientnet_lite_pytorch import EfficientNet

    net = EfficientNet.from_name('efficientnet-lite0').eval()
    ours = EfficientNetLite(out_indices=(4,), output_stride=32, pretrained=True)
    ours.init_weights()
    ours.eval()
    mapped = {}
    for key, value in ours.state_dict().items():
        head, _, rest = key.partition('.')
        if head == 'blocks':
            mapped['_blocks.' + rest] = value
        else:
            index, _, name = rest.partition('.')
            prefix = {('stem', '0'): '_conv_stem', ('stem', '1'): '_bn0'}
            prefix.update({('head', '0'): '_conv_head', ('head', '1'): '_bn1'})
            mapped[f'{prefix[head, index]}.{name}'] = value
    missing, unexpected = net.load_state_dict(mapped, strict=False)
    assert sorted(missing) == ['_fc.bias', '_fc.weight'] and not unexpected
    # the padding folded into the stride-1 convs, the stride-2 ones kept
    assert ours.blocks[1]._depthwise_conv.padding == (0, 0)  # stride 2
    assert ours.blocks[2]._depthwise_conv.padding == (1, 1)
    assert net._blocks[2]._depthwise_conv.padding == (0, 0)
    x = torch.randn(2, 3, 96, 128, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = net.extract_features(x)
        (out,) = ours(x)
    assert expected.abs().max() > 0.1
    assert torch.allclose(out, expected, atol=1e-5 * expected.abs().max().item())
