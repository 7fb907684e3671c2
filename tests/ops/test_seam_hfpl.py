"""SEAM's PCM and equivariance losses; HFPL's importance-sampling and feature
similarity losses."""

import pytest
import torch
import torch.nn.functional as F

from mmwsss.ops.hfpl import (
    colour_distance_weight,
    dense_feature_similarity_loss,
    feature_similarity_loss,
    importance_sampling_loss,
)
from mmwsss.ops.seam import (
    ecr_loss,
    equivariance_loss,
    pcm_affinity,
    pcm_revise,
    top_fraction_l1,
    with_background,
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


def test_with_background():
    cams = torch.tensor([[[[2.0, 1.0]], [[0.0, 4.0]]]])  # (1, 2, 1, 2)
    out = with_background(cams)
    # fg maps by their max; background 1 - max over classes
    torch.testing.assert_close(
        out[0, :, 0], torch.tensor([[0.0, 0.0], [1.0, 0.5], [0.0, 1.0]])
    )


def test_with_background_counts_only_the_image_classes():
    # class 1's map is tiny (an absent class): without labels, normalised by
    # its own maximum it reaches 1 and hides the background; with the image's
    # labels (class 0 only) it is zeroed before 1 - max, as SEAM does
    cams = torch.tensor([[[[2.0, 1.0]], [[1e-3, 0.0]]]])  # (1, 2, 1, 2)
    everything = with_background(cams)
    assert everything[0, 0, 0, 0] == 0.0  # background hidden by class 1
    labels = torch.tensor([[1.0, 0.0]])
    out = with_background(cams, labels)
    torch.testing.assert_close(
        out[0, :, 0], torch.tensor([[0.0, 0.5], [1.0, 0.5], [0.0, 0.0]])
    )
    # no gradient reaches the absent class through the background
    cams.requires_grad_(True)
    with_background(cams, labels).sum().backward()
    assert cams.grad[0, 1].abs().sum() == 0
    with pytest.raises(ValueError, match='labels'):
        with_background(cams, labels[:, :1])


def test_equivariance_losses_zero_for_an_equivariant_network():
    """A 1x1 convolution commutes with nearest-neighbour rescaling: ER and ECR
    vanish; a 3x3 convolution with zero padding does not: both are positive."""
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
    assert ecr_loss(large, aligned, aligned, large) < 1e-6
    spatial = torch.nn.Conv2d(3, 2, 3, padding=1)
    large, aligned = views(spatial)
    assert equivariance_loss(large, aligned) > 1e-3
    assert ecr_loss(large, aligned, aligned, large) > 1e-3
    with pytest.raises(ValueError, match='differ'):
        equivariance_loss(large, aligned[..., :4])


def test_top_fraction_l1_hand_case():
    a = torch.tensor([[0.0, 0.0, 0.0, 0.0, 1.0]])
    b = torch.zeros(1, 5)
    assert top_fraction_l1(a, b, 0.2).item() == 1.0  # the largest 20%: one value
    assert top_fraction_l1(a, b, 1.0).item() == pytest.approx(0.2)


def test_colour_weight_sign():
    w = colour_distance_weight(torch.tensor([0.0, 0.076, 0.5, 1.0]))
    assert w[0] < -0.99 and w[-1] > 0.99  # same colour / very different
    assert w[2] == pytest.approx(torch.tanh(torch.tensor(2.5)).item())


def test_feature_similarity_matches_the_dense_reference():
    torch.manual_seed(0)
    image = torch.rand(2, 3, 6, 7)
    logits = torch.randn(2, 4, 6, 7, requires_grad=True)
    dense = dense_feature_similarity_loss(image, logits, sigma=2.0)
    local = feature_similarity_loss(image, logits, sigma=2.0, radius=7)  # covers all
    torch.testing.assert_close(local, dense, rtol=1e-5, atol=1e-7)
    # the default radius (3 sigma) drops only far, light pairs
    truncated = feature_similarity_loss(image, logits, sigma=1.0)
    full = dense_feature_similarity_loss(image, logits, sigma=1.0)
    assert abs(truncated - full) < 0.02 * abs(full)
    local.backward()
    assert logits.grad.abs().sum() > 0


def test_feature_similarity_over_the_image_classes_only():
    torch.manual_seed(1)
    image = torch.rand(2, 3, 5, 6)
    logits = torch.randn(2, 3, 5, 6, requires_grad=True)
    mask = torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    local = feature_similarity_loss(image, logits, sigma=2.0, radius=6, class_mask=mask)
    dense = dense_feature_similarity_loss(image, logits, sigma=2.0, class_mask=mask)
    torch.testing.assert_close(local, dense, rtol=1e-5, atol=1e-7)
    # the same as the mean of the per-map losses of the kept maps
    kept = [(0, 0), (0, 2), (1, 1)]
    singles = [
        feature_similarity_loss(
            image[i : i + 1], logits[i : i + 1, c : c + 1], 2.5, 2.0, 6
        )
        for i, c in kept
    ]
    expected = sum(singles) / len(singles)
    with_mu = feature_similarity_loss(
        image, logits, 2.5, 2.0, radius=6, class_mask=mask
    )
    torch.testing.assert_close(with_mu, expected, rtol=1e-5, atol=1e-7)
    local.backward()
    assert logits.grad[0, 1].abs().sum() == 0 and logits.grad[1, 1].abs().sum() > 0
    with pytest.raises(ValueError, match='class_mask'):
        feature_similarity_loss(image, logits, class_mask=mask[:, :2])


def test_feature_similarity_penalises_different_scores_on_one_colour():
    image = torch.zeros(1, 3, 1, 2)  # two pixels of the same colour
    same = feature_similarity_loss(image, torch.zeros(1, 1, 1, 2), sigma=1.0)
    split = feature_similarity_loss(image, torch.tensor([[[[5.0, -5.0]]]]), sigma=1.0)
    assert same.abs() < 1e-9 and split > 0


def test_importance_sampling_draws_where_the_sigmoid_is_high():
    logits = torch.full((1, 2, 4, 4), -30.0)
    logits[0, 0, 1, 2] = 3.0  # class 0: one likely pixel
    logits.requires_grad_(True)
    targets = torch.tensor([[1.0, 0.0]])
    g = torch.Generator().manual_seed(0)
    loss = importance_sampling_loss(logits, targets, num_samples=10, generator=g)
    # class 0 always samples its likely pixel; class 1 any (all -30, target 0)
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
