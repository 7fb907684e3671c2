"""SEAM's PCM and losses; HFPL's importance-sampling and feature similarity
losses: hand-computed cases of the reference code's formulas."""

import math

import pytest
import torch
import torch.nn.functional as F

from mmwsss.ops.hfpl import (
    colour_distance_weight,
    dense_feature_similarity_loss,
    feature_similarity_loss,
    gaussian_weight,
    hfpl_maps,
    importance_sampling_loss,
)
from mmwsss.ops.seam import (
    adaptive_min_pooling_loss,
    add_background,
    ecr_loss,
    equivariance_loss,
    max_norm,
    max_onehot,
    pcm_affinity,
    pcm_input,
    pcm_revise,
    seam_maps,
    top_fraction_l1,
)


def test_pcm_hand_computed_affinity():
    # three pixels: two share a feature direction (any length), one is orthogonal
    features = torch.tensor([[2.0, 1.0, 0.0], [0.0, 0.0, 3.0]]).view(1, 2, 1, 3)
    affinity = pcm_affinity(features)[0]
    expected = torch.tensor([[0.5, 0.5, 0.0], [0.5, 0.5, 0.0], [0.0, 0.0, 1.0]])
    torch.testing.assert_close(affinity, expected, atol=1e-4, rtol=0)
    cams = torch.tensor([1.0, 0.0, 0.5]).view(1, 1, 1, 3)
    revised = pcm_revise(cams, features)
    torch.testing.assert_close(
        revised.flatten(), torch.tensor([0.5, 0.5, 0.5]), atol=1e-4, rtol=0
    )
    # opposite features: negative correlation, cut by the ReLU
    opposite = torch.tensor([[1.0, -1.0]]).view(1, 1, 1, 2)
    torch.testing.assert_close(
        pcm_affinity(opposite)[0], torch.eye(2), atol=1e-4, rtol=0
    )
    with pytest.raises(ValueError, match='grid'):
        pcm_revise(cams, features[..., :2])


def test_max_norm_is_min_max_after_relu():
    # map 0: ReLU gives [1, 3, 0, 2], min 0, max 3; map 1: min 2, max 6
    maps = torch.tensor([[[[1.0, 3.0, -2.0, 2.0]], [[2.0, 4.0, 3.0, 6.0]]]])
    out = max_norm(maps, eps=0.0)
    expected = torch.tensor([[1 / 3, 1.0, 0.0, 2 / 3], [0.0, 0.5, 0.25, 1.0]])
    torch.testing.assert_close(out[0, :, 0], expected)
    # SEAM's eps: relu(x - min - 1e-5) / (max - min + 1e-5)
    e = 1e-5
    torch.testing.assert_close(
        max_norm(maps)[0, 1, 0, 1], torch.tensor((4.0 - 2.0 - e) / (6.0 - 2.0 + e))
    )
    # the gradient reaches the minimum and the maximum too
    maps.requires_grad_(True)
    max_norm(maps)[0, 1, 0, 1].backward()
    assert maps.grad[0, 1, 0, 0] != 0 and maps.grad[0, 1, 0, 3] != 0


def test_seam_maps_mask_absent_classes_and_add_the_background():
    cams = torch.tensor([[[[2.0, 1.0, 0.0]], [[1e-3, 0.0, 5.0]]]])  # (1, 2, 1, 3)
    labels = torch.tensor([[1.0, 0.0]])  # class 1 absent
    out = seam_maps(cams, labels)
    fg0 = max_norm(cams)[0, 0, 0]
    torch.testing.assert_close(out[0, 1, 0], fg0)
    assert out[0, 2].abs().sum() == 0  # the absent class is zero
    torch.testing.assert_close(out[0, 0, 0], 1 - fg0)  # background 1 - max
    torch.testing.assert_close(add_background(out[:, 1:]), out)
    cams.requires_grad_(True)
    seam_maps(cams, labels).sum().backward()
    assert cams.grad[0, 1].abs().sum() == 0
    with pytest.raises(ValueError, match='labels'):
        seam_maps(cams, labels[:, :1])


def test_pcm_input_keeps_each_pixels_top_class_without_labels():
    # class 0 [2, 1, 0], class 1 [0.5, 2, 0.001]: max-normalised (not min-max)
    cams = torch.tensor([[[[2.0, 1.0, 0.0]], [[0.5, 2.0, 1e-3]]]], requires_grad=True)
    out = pcm_input(cams, eps=0.0)
    assert not out.requires_grad
    fg0 = torch.tensor([1.0, 0.5, 0.0])
    fg1 = torch.tensor([0.25, 1.0, 5e-4])
    # background from all classes, before the top-class cut
    torch.testing.assert_close(out[0, 0, 0], 1 - torch.maximum(fg0, fg1))
    torch.testing.assert_close(out[0, 1, 0], torch.tensor([1.0, 0.0, 0.0]))
    torch.testing.assert_close(out[0, 2, 0], torch.tensor([0.0, 1.0, 5e-4]))
    # SEAM's eps: relu(x - 1e-5) / (max + 1e-5)
    e = 1e-5
    torch.testing.assert_close(
        pcm_input(cams)[0, 1, 0, 0], torch.tensor((2.0 - e) / (2.0 + e))
    )
    # an absent class's tiny map, normalised by its own peak, takes its pixel
    # (SEAM's network sees no labels)
    tiny = torch.tensor([[[[2.0, 1.0]], [[0.0, 1e-3]]]])
    out = pcm_input(tiny, eps=0.0)
    torch.testing.assert_close(out[0, :, 0, 1], torch.tensor([0.0, 0.0, 1.0]))


def test_max_onehot_keeps_the_top_class_and_the_background():
    maps = torch.tensor(
        [[[[0.2, 0.5]], [[0.8, 0.3]], [[0.5, 0.3]], [[0.1, 0.0]]]]
    )  # (1, 1 + 3, 1, 2): background, three classes
    out = max_onehot(maps)
    expected = torch.tensor(
        [[[[0.2, 0.5]], [[0.8, 0.3]], [[0.0, 0.3]], [[0.0, 0.0]]]]
    )  # pixel 1: a tie, both kept
    torch.testing.assert_close(out, expected)
    assert maps[0, 2, 0, 0] == 0.5  # the input is left alone


def test_ecr_target_is_the_detached_max_onehot_of_the_other_view():
    revised = torch.tensor([[[[0.4]], [[0.6]], [[0.6]]]], requires_grad=True)
    other = torch.tensor([[[[0.1]], [[0.9]], [[0.5]]]], requires_grad=True)
    # target [0.1, 0.9, 0] (class 2 not the top): |diffs| = [0.3, 0.3, 0.6];
    # k = int(0.2 * 3) = 0 -> 1: the largest, 0.6; both directions alike
    loss = ecr_loss(revised, other, revised, other, fraction=0.2)
    torch.testing.assert_close(loss, torch.tensor(1.2))
    loss.backward()
    assert other.grad is None and revised.grad.abs().sum() > 0


def test_adaptive_min_pooling_loss_hand_case():
    # per-pixel class maximum [0.5, 0.1, 0.9, 0.3] and [0.2, -1, 0.4, 0.6];
    # k = 4 // 4 = 1 lowest per image, ReLU, sum / (k n)
    revised = torch.tensor(
        [
            [[[0.5, 0.1], [0.9, 0.3]], [[0.2, 0.0], [0.1, 0.1]]],
            [[[0.2, -1.0], [0.4, 0.6]], [[0.0, -2.0], [0.0, 0.0]]],
        ]
    )
    torch.testing.assert_close(
        adaptive_min_pooling_loss(revised), torch.tensor((0.1 + 0.0) / 2)
    )


def test_equivariance_losses_zero_for_an_equivariant_network():
    """A 1x1 convolution commutes with nearest-neighbour rescaling: ER
    vanishes, and so does ECR for a revision that returns each view's top
    class (ECR's target); a 3x3 convolution with zero padding does not: both
    are positive."""
    torch.manual_seed(0)
    image = torch.rand(1, 3, 8, 8)

    def views(net):
        small = net(image)
        large = net(F.interpolate(image, scale_factor=2, mode='nearest'))
        aligned = F.interpolate(small, scale_factor=2, mode='nearest')
        return large, aligned

    pointwise = torch.nn.Conv2d(3, 2, 1)
    large, aligned = views(pointwise)
    assert equivariance_loss(large, aligned) < 1e-6
    large_maps, aligned_maps = add_background(large), add_background(aligned)
    ecr = ecr_loss(
        max_onehot(large_maps), aligned_maps, max_onehot(aligned_maps), large_maps
    )
    assert ecr < 1e-6
    spatial = torch.nn.Conv2d(3, 2, 3, padding=1)
    large, aligned = views(spatial)
    assert equivariance_loss(large, aligned) > 1e-3
    large_maps, aligned_maps = add_background(large), add_background(aligned)
    ecr = ecr_loss(
        max_onehot(large_maps), aligned_maps, max_onehot(aligned_maps), large_maps
    )
    assert ecr > 1e-3
    with pytest.raises(ValueError, match='differ'):
        equivariance_loss(large, aligned[..., :4])


def test_top_fraction_l1_hand_case():
    a = torch.tensor([[0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.5, 1.0]])
    b = torch.zeros(1, 8)
    # int(0.2 * 8) = 1 value, as SEAM's int(21 h w 0.2) (rounding would take 2)
    assert top_fraction_l1(a, b, 0.2).item() == 1.0
    assert top_fraction_l1(a, b, 1.0).item() == pytest.approx(1.5 / 8)
    with pytest.raises(ValueError, match='fraction'):
        top_fraction_l1(a, b, 0.0)


def test_colour_weight_is_hfpls():
    w = colour_distance_weight(torch.tensor([0.0, 0.5, 1.0, 1.5]))
    assert w[1] == pytest.approx(math.tanh(2.5))
    assert w[0] == pytest.approx(math.tanh(2.5 + math.log(1e-5 / (1 + 1e-5))))
    assert w[2] == pytest.approx(math.tanh(2.5 + math.log((1 + 1e-5) / 1e-5)))
    assert w[3] == w[2]  # clamped to [0, 1]


def test_gaussian_weight_carries_its_normaliser():
    sigma = 5.0
    assert gaussian_weight(0.0, sigma) == pytest.approx(1 / (2 * math.pi * 25))
    d2 = torch.tensor([2.0])
    torch.testing.assert_close(
        gaussian_weight(d2, sigma),
        torch.tensor([math.exp(-2.0 / 50) / (2 * math.pi * 25)]),
    )


def test_feature_similarity_hand_computed_two_pixels():
    """Two pixels side by side, maps background-first y_a = [0, 1], y_b =
    [1, 0]: dy = 0.5 ||y_a - y_b||^2 = 1 (a sum over the channels) for each
    of the two ordered pairs; dp = exp(-1 / (2 sigma^2)) / (2 pi sigma^2);
    the loss is -(1 / (n h w)) * 2 dp dy dx."""
    sigma = 1.0
    maps = torch.tensor([[[[0.0, 1.0]], [[1.0, 0.0]]]])  # (1, 2, 1, 2)
    dp = math.exp(-1 / (2 * sigma**2)) / (2 * math.pi * sigma**2)
    black_white = torch.tensor([[[[0.0, 1.0]]] * 3])  # (1, 3, 1, 2)
    dx = math.tanh(2.5 + math.log((1 + 1e-5) / 1e-5))
    expected = -(1 / (1 * 1 * 2)) * 2 * dp * 1.0 * dx
    for fn in (feature_similarity_loss, dense_feature_similarity_loss):
        loss = fn(black_white, maps, sigma=sigma)
        assert loss.item() == pytest.approx(expected, rel=1e-6)
        # one colour: the split is penalised by the same amount
        same = fn(torch.zeros(1, 3, 1, 2), maps, sigma=sigma)
        dx_same = math.tanh(2.5 + math.log(1e-5 / (1 + 1e-5)))
        assert same.item() == pytest.approx(-dp * dx_same, rel=1e-6)
        assert same.item() > 0
        # n in the normaliser: a batch of two copies has the same loss
        both = fn(black_white.repeat(2, 1, 1, 1), maps.repeat(2, 1, 1, 1), sigma=sigma)
        assert both.item() == pytest.approx(expected, rel=1e-6)
        # the channels are summed, not averaged: duplicated maps double it
        doubled = fn(black_white, maps.repeat(1, 2, 1, 1), sigma=sigma)
        assert doubled.item() == pytest.approx(2 * expected, rel=1e-6)


def test_feature_similarity_matches_the_dense_reference():
    torch.manual_seed(0)
    image = torch.rand(2, 3, 6, 7)
    logits = torch.randn(2, 4, 6, 7, requires_grad=True)
    labels = torch.tensor([[1.0, 0.0, 1.0, 0.0], [0.0, 1.0, 0.0, 0.0]])
    maps = hfpl_maps(logits, labels)
    dense = dense_feature_similarity_loss(image, maps, sigma=2.0)
    local = feature_similarity_loss(image, maps, sigma=2.0, radius=7)  # covers all
    torch.testing.assert_close(local, dense, rtol=1e-5, atol=1e-8)
    # the default radius (3 sigma) drops only far, light pairs
    truncated = feature_similarity_loss(image, maps, sigma=1.0)
    full = dense_feature_similarity_loss(image, maps, sigma=1.0)
    assert abs(truncated - full) < 0.02 * abs(full)
    local.backward()
    # the absent classes' maps are zero: no gradient reaches them
    assert logits.grad[0, 1].abs().sum() == 0 and logits.grad[1, 2].abs().sum() == 0
    assert logits.grad[0, 0].abs().sum() > 0
    with pytest.raises(ValueError, match='grid'):
        feature_similarity_loss(image[..., :3], maps)
    with pytest.raises(ValueError, match='sigma'):
        feature_similarity_loss(image, maps, sigma=0.0)


def test_hfpl_maps_are_seams_maps():
    torch.manual_seed(2)
    logits = torch.randn(2, 3, 4, 5)
    labels = torch.tensor([[1.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    torch.testing.assert_close(hfpl_maps(logits, labels), seam_maps(logits, labels))
    with pytest.raises(ValueError, match='labels'):
        hfpl_maps(logits, labels[:, :2])


def test_importance_sampling_draws_where_the_sigmoid_is_high():
    logits = torch.full((1, 2, 4, 4), -30.0)
    logits[0, 0, 1, 2] = 3.0  # class 0: one likely pixel (0.95 vs 15 x 1e-5)
    logits.requires_grad_(True)
    targets = torch.tensor([[1.0, 0.0]])
    g = torch.Generator().manual_seed(0)
    loss = importance_sampling_loss(logits, targets, num_samples=10, generator=g)
    # class 0 samples its likely pixel; class 1 any (all -30, target 0)
    expected = 0.5 * (
        F.binary_cross_entropy_with_logits(torch.tensor(3.0), torch.tensor(1.0))
        + F.binary_cross_entropy_with_logits(torch.tensor(-30.0), torch.tensor(0.0))
    )
    torch.testing.assert_close(loss, expected)
    loss.backward()
    grad = logits.grad[0, 0]
    assert grad[1, 2] != 0 and grad.abs().sum() == grad[1, 2].abs()
    with pytest.raises(ValueError, match='targets'):
        importance_sampling_loss(logits, targets[:, :1])
