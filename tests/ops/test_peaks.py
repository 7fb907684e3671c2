"""PRM's peaks, peak stimulation and peak backpropagation on hand cases."""

import numpy as np
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


class _Block(nn.Module):
    """conv-BN-ReLU, a second conv-BN-ReLU added to the first's output, a
    1x1 classifier, aligned bilinear x2 upsampling: the pieces of PRM's
    FC-ResNet and of the EfficientNet-Lite classifiers."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(4)
        self.conv2 = nn.Conv2d(4, 4, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(4)
        self.classifier = nn.Conv2d(4, 2, 1)

    def forward(self, x):
        a = F.relu(self.bn1(self.conv1(x)))
        b = F.relu(self.bn2(self.conv2(a)))
        maps = self.classifier(a + b)
        return F.interpolate(maps, scale_factor=2, mode='bilinear', align_corners=True)


def _excite(u, grad, weight):
    """Hand-written top-down rule of one zero-padded stride-1 convolution
    (numpy loops): ``P(u_i) = (u_i - min u) sum_j w_ij^+ P(v_j) / Z_j``."""
    cout, cin, k, _ = weight.shape
    pad = k // 2
    shifted = np.pad(u - u.min(), ((0, 0), (pad, pad), (pad, pad)))
    wplus = np.clip(weight, 0, None)
    h, w = u.shape[1:]
    out = np.zeros_like(shifted)
    for j in range(cout):
        for y in range(h):
            for x in range(w):
                window = shifted[:, y : y + k, x : x + k]
                z = (window * wplus[j]).sum()
                if z >= 1e-10:
                    out[:, y : y + k, x : x + k] += wplus[j] * grad[j, y, x] / z
    return (shifted * out)[:, pad : pad + h, pad : pad + w]


def _aligned_upsampling(n, factor):
    """The (n * factor, n) matrix of 1-D linear interpolation with aligned
    corners."""
    m = n * factor
    matrix = np.zeros((m, n))
    for i in range(m):
        pos = i * (n - 1) / (m - 1)
        lo = min(int(np.floor(pos)), n - 2)
        matrix[i, lo] += 1 - (pos - lo)
        matrix[i, lo + 1] += pos - lo
    return matrix


def test_peak_response_maps_match_a_hand_written_top_down_pass():
    """Through batch norm (eval), ReLU, a residual addition, the classifier
    and the upsampling, the peak response map is the top-down pass written
    out layer by layer: the upsampling's transpose, the rule at each
    convolution, BN's scale, ReLU's gate, the addition's copy to both
    branches. A negative BN scale and negative weights make it differ from a
    plain gradient."""
    torch.manual_seed(3)
    net = _Block().eval()
    with torch.no_grad():
        for bn in (net.bn1, net.bn2):
            bn.weight.copy_(torch.tensor([1.3, -0.6, 0.8, 1.1]))
            bn.bias.uniform_(-0.2, 0.4)
            bn.running_mean.uniform_(-0.3, 0.3)
            bn.running_var.uniform_(0.5, 2.0)
    image = torch.rand(1, 3, 5, 6)
    peak = (1, 4, 7)  # class 1 on the 10x12 upsampled grid
    maps, prms = peak_response_maps(net, net, image, [peak])
    torch.testing.assert_close(maps, net(image).detach())

    def scale(bn):
        return (bn.weight / (bn.running_var + bn.eps).sqrt()).detach().double()

    with torch.no_grad():
        x = image[0].double()
        pre1 = net.bn1(net.conv1(image))[0].double()
        a = pre1.clamp(min=0)
        pre2 = net.bn2(net.conv2(a[None].float()))[0].double()
        b = pre2.clamp(min=0)
    top = np.zeros((2, 10, 12))
    top[peak] = 1
    rows, cols = _aligned_upsampling(5, 2), _aligned_upsampling(6, 2)
    grad = np.einsum('cyx,yi,xj->cij', top, rows, cols)  # the transpose
    w = {
        n: getattr(net, n).weight.detach().double().numpy()
        for n in ('conv1', 'conv2', 'classifier')
    }
    g_sum = _excite((a + b).numpy(), grad, w['classifier'])
    g_b = g_sum * (pre2.numpy() > 0) * scale(net.bn2).numpy()[:, None, None]
    g_a = g_sum + _excite(a.numpy(), g_b, w['conv2'])
    g_pre1 = g_a * (pre1.numpy() > 0) * scale(net.bn1).numpy()[:, None, None]
    g_x = _excite(x.numpy(), g_pre1, w['conv1'])
    expected = np.clip(g_x.sum(0), 0, None)
    expected /= expected.sum()
    np.testing.assert_allclose(prms[0].numpy(), expected, rtol=1e-4, atol=1e-6)
    # a plain gradient is another map
    image.requires_grad_(True)
    net(image)[(0, *peak)].backward()
    plain = image.grad[0].sum(0).clamp(min=0)
    assert not torch.allclose(prms[0], plain / plain.sum(), atol=1e-3)
