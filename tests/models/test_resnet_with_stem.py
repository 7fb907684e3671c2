"""ResNetWithStem: mmseg's ResNet with the stem's output in front."""

import torch
from mmseg.models.backbones import ResNet

import mmwsss  # noqa: F401  (registers the components)
from mmwsss.registry import MODELS


def _pair(**kwargs):
    cfg = dict(
        depth=18, stem_channels=8, base_channels=8, strides=(1, 2, 2, 1), **kwargs
    )
    ours = MODELS.build(dict(type='ResNetWithStem', **cfg))
    stock = ResNet(**cfg)
    stock.load_state_dict(ours.state_dict())
    ours.eval()  # mmseg's ResNet.train returns None
    stock.eval()
    return ours, stock


def test_stem_first_then_the_stock_stages():
    ours, stock = _pair(out_indices=(0, 1, 2, 3))
    x = torch.randn(2, 3, 40, 48)
    with torch.no_grad():
        outs, ref = ours(x), stock(x)
    assert len(outs) == 5
    # the stem after max pooling: stride 4, stem_channels wide
    assert outs[0].shape == (2, 8, 10, 12)
    for a, b in zip(outs[1:], ref):
        torch.testing.assert_close(a, b)


def test_same_parameters_as_resnet_and_deep_stem():
    # parameter names match mmseg's ResNet, hence torchvision's checkpoints
    ours, stock = _pair(out_indices=(3,))
    assert list(ours.state_dict()) == list(stock.state_dict())
    assert 'conv1.weight' in ours.state_dict() and 'bn1.weight' in ours.state_dict()
    deep, _ = _pair(out_indices=(1,), deep_stem=True)
    outs = deep(torch.randn(1, 3, 32, 32))
    assert [o.shape[1] for o in outs] == [8, 16]


def test_frozen_stages_stay_frozen():
    model = MODELS.build(
        dict(type='ResNetWithStem', depth=18, base_channels=8, frozen_stages=1)
    )
    model.train()
    assert not any(p.requires_grad for p in model.conv1.parameters())
    assert not any(p.requires_grad for p in model.layer1.parameters())
    assert all(p.requires_grad for p in model.layer2.parameters())
