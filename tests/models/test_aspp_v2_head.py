import pytest
import torch
import torch.nn.functional as F
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmwsss.models.heads import ASPPV2Head


def _head(**kwargs):
    cfg = dict(in_channels=8, num_classes=5, in_index=0)
    cfg.update(kwargs)
    return ASPPV2Head(**cfg)


def test_logits_are_the_sum_of_dilated_classifiers():
    torch.manual_seed(0)
    head = _head(dilations=(1, 2, 3))
    head.init_weights()
    x = torch.randn(2, 8, 9, 11)
    expected = sum(
        F.conv2d(x, conv.weight, conv.bias, padding=d, dilation=d)
        for conv, d in zip(head.aspp, (1, 2, 3))
    )
    out = head([x])
    assert out.shape == (2, 5, 9, 11)
    assert torch.allclose(out, expected, atol=1e-5)
    # no 1x1 conv_seg beside the branches: they are the classifiers
    assert not hasattr(head, 'conv_seg')
    assert sum(p.numel() for p in head.parameters()) == 3 * (8 * 5 * 9 + 5)


def test_published_defaults_and_init():
    head = _head(in_channels=64)
    head.init_weights()
    assert head.dilations == (6, 12, 18, 24)
    assert head.dropout is None
    weights = torch.cat([conv.weight.flatten() for conv in head.aspp])
    assert 0.008 < weights.std().item() < 0.012  # Normal(0, 0.01)
    assert all(torch.count_nonzero(conv.bias) == 0 for conv in head.aspp)


def test_loss_ignores_unsure_pixels():
    torch.manual_seed(0)
    head = _head(dilations=(1, 2))
    x = torch.randn(1, 8, 4, 4)
    label = torch.randint(0, 5, (1, 16, 16))
    sample = SegDataSample(gt_sem_seg=PixelData(data=label))
    loss = head.loss([x], [sample], train_cfg={})['loss_ce']
    label_ignored = label.clone()
    label_ignored[:, :8] = 255
    sample = SegDataSample(gt_sem_seg=PixelData(data=label_ignored))
    loss_half = head.loss([x], [sample], train_cfg={})['loss_ce']
    logits = F.interpolate(head([x]), size=(16, 16), mode='bilinear')
    assert torch.allclose(loss, F.cross_entropy(logits, label), atol=1e-5)
    # mmseg's CrossEntropyLoss (avg_non_ignore=False) divides by all pixels
    summed = F.cross_entropy(logits, label_ignored, ignore_index=255, reduction='sum')
    assert torch.allclose(loss_half, summed / label.numel(), atol=1e-5)


def test_bad_arguments():
    with pytest.raises(TypeError, match='channels'):
        _head(channels=16)
    with pytest.raises(ValueError, match='dilations'):
        _head(dilations=(6, 0))
