"""PRM's peaks, peak stimulation and peak backpropagation on hand cases."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from mmwsss.ops.peaks import (
    excitation_backprop,
    find_peaks,
    local_maxima,
    peak_mask,
    peak_response_maps,
    peak_stimulation,
)


def test_peak_mask_hand_case():
    m = torch.tensor(
        [
            [0.3, 0.4, 0.5, 0.4],
            [0.4, 0.9, 0.6, 0.3],
            [0.1, 0.1, 0.5, 0.6],
            [0.15, 0.05, 0.4, 0.8],
        ]
    )
    # 3x3 local maxima: 0.9, 0.8 and 0.15; the median is 0.4, so 0.15 is no peak
    assert torch.nonzero(local_maxima(m)).tolist() == [[1, 1], [3, 0], [3, 3]]
    assert torch.nonzero(peak_mask(m)).tolist() == [[1, 1], [3, 3]]
    # one map per leading index
    both = peak_mask(torch.stack([m, m.flip(-1)]))
    assert torch.nonzero(both[1]).tolist() == [[1, 2], [3, 0]]
    with pytest.raises(ValueError, match='odd'):
        peak_mask(m, window=2)


def test_one_peak_per_plateau_and_threshold_at_the_median():
    m = torch.zeros(6, 7)
    # a V-shaped plateau of 4s: PRM's own rule (a pixel that is the first
    # maximum of its window) marks (1, 1) and (1, 3); it is one plateau
    m[1, 1] = m[2, 2] = m[1, 3] = 4.0
    m[4, 5] = m[4, 6] = 3.0  # a plateau of two: its first pixel
    assert torch.nonzero(local_maxima(m) & (m > 0)).tolist() == [[1, 1], [4, 5]]
    # a constant map is one plateau: one peak, at its first pixel, kept (>=
    # the median), so every map has a peak
    assert torch.nonzero(peak_mask(torch.ones(4, 4))).tolist() == [[0, 0]]
    # the median filter: a local maximum (1) below the median (2) is no peak
    n = torch.full((5, 5), 2.0)
    n[:, :2] = 0.0
    n[2, 0] = 1.0
    assert local_maxima(n)[2, 0] and not peak_mask(n)[2, 0]
    # window 5: the 2 two pixels from the 3 is no maximum of its window
    w = torch.zeros(5, 9)
    w[2, 2], w[2, 4], w[2, 8] = 3.0, 2.0, 1.0
    assert torch.nonzero(local_maxima(w, 5)).tolist() == [[2, 2], [2, 8]]
    assert torch.nonzero(local_maxima(w, 3) & (w > 0)).tolist() == [
        [2, 2],
        [2, 4],
        [2, 8],
    ]


def test_peak_stimulation_mean_forward_full_gradient_backward():
    """PRM's score is the mean at the peaks, but each peak gets the score's
    whole gradient (PRM's backward does not divide it by the count)."""
    maps = torch.zeros(1, 2, 3, 5)
    maps[0, 0, 1, 1], maps[0, 0, 1, 3] = 4.0, 2.0  # every 0 sees one of them
    maps[0, 1] = 1.0  # constant: one peak at (0, 0), its score the constant
    maps.requires_grad_(True)
    scores = peak_stimulation(maps)
    assert scores.tolist() == [[3.0, 1.0]]
    (scores[0, 0] * 2).backward()
    grad = maps.grad[0, 0]
    assert grad[1, 1] == grad[1, 3] == 2.0  # not 1.0, the mean's
    assert grad.sum() == 4.0  # nowhere else
    assert maps.grad[0, 1].abs().sum() == 0


def test_find_peaks_sorted_with_class_keys():
    maps = torch.zeros(2, 4, 4)
    maps[0, 0, 0] = 0.5
    maps[1, 2, 2] = 0.9
    maps[1, 0, 3] = 0.05
    found = find_peaks(maps, torch.tensor([3, 7]), min_score=0.1)
    assert found == [(7, 2, 2, pytest.approx(0.9)), (3, 0, 0, 0.5)]


def _conv(weight, padding=1, bias=None):
    weight = torch.as_tensor(weight, dtype=torch.float32)
    conv = nn.Conv2d(1, 1, weight.shape[-1], padding=padding, bias=bias is not None)
    with torch.no_grad():
        conv.weight.copy_(weight.view_as(conv.weight))
        if bias is not None:
            conv.bias.fill_(bias)
    return conv


def test_peak_response_of_one_conv_is_the_inputs_share():
    """One convolution with weights w: the peak's response map is each input
    pixel's share (u - min u) * w+ / Z of the peak's value, on the 3x3 window
    of the peak only; negative weights pass nothing."""
    weight = torch.tensor([[1.0, 2.0, 0.0], [1.0, -3.0, 1.0], [0.0, 1.0, 1.0]])
    net = _conv(weight, bias=0.7)
    image = torch.rand(1, 1, 6, 7) + 0.1
    maps, prms = peak_response_maps(net, net, image, [(0, 2, 3)])
    torch.testing.assert_close(maps, net(image).detach())  # forward unchanged
    share = torch.zeros(6, 7)
    u = image[0, 0] - image.min()
    share[1:4, 2:5] = u[1:4, 2:5] * weight.clamp(min=0)
    torch.testing.assert_close(prms[0], share / share.sum())
    assert prms[0][2, 3] == 0  # the centre weight is negative


def test_peak_response_support_is_the_receptive_field():
    """Two 3x3 convolutions (ReLU between): a peak's response map covers its
    5x5 receptive field, nothing outside; two peaks far apart have disjoint
    maps; a plain gradient (no excitation rule) would not be clipped to the
    positive weights' paths."""
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 2, 3, padding=1)
    )
    with torch.no_grad():
        for m in net:
            if isinstance(m, nn.Conv2d):
                m.weight.abs_()
    image = torch.rand(1, 3, 12, 12) + 0.1
    _, prms = peak_response_maps(net, net, image, [(0, 3, 3), (1, 8, 9)])
    assert prms.shape == (2, 12, 12)
    torch.testing.assert_close(prms.sum(dim=(1, 2)), torch.ones(2))
    support = prms > 0
    window = torch.zeros(12, 12, dtype=torch.bool)
    window[1:6, 1:6] = True
    assert torch.equal(support[0], window)
    window = torch.zeros(12, 12, dtype=torch.bool)
    window[6:11, 7:12] = True
    assert torch.equal(support[1], window)


def test_excitation_backprop_sees_through_padding_subclasses():
    """A convolution subclass that pads in its own forward (EfficientNet-
    Lite's 'same' convolutions) backpropagates as one with the padding in
    the layer: the rule runs the module's own forward."""

    class PadConv(nn.Conv2d):
        def forward(self, x):
            return F.conv2d(F.pad(x, (1, 1, 1, 1)), self.weight, self.bias, self.stride)

    torch.manual_seed(0)
    plain = nn.Conv2d(2, 1, 3, padding=1)
    padded = PadConv(2, 1, 3, padding=0)
    padded.load_state_dict(plain.state_dict())
    image = torch.rand(1, 2, 7, 7)
    _, a = peak_response_maps(plain, plain, image, [(0, 0, 3)])
    _, b = peak_response_maps(padded, padded, image, [(0, 0, 3)])
    torch.testing.assert_close(a, b)
    # outside the context the layers backpropagate as usual again
    image.requires_grad_(True)
    with excitation_backprop(plain):
        pass
    plain(image)[0, 0, 0, 3].backward()
    torch.testing.assert_close(
        image.grad[0, :, :2, 2:5], plain.weight[0, :, 1:, :].detach()
    )
