import math

import pytest
import torch

from mmwsss.ops import (
    affinity_from_features,
    affinity_pair_losses,
    downscale_labels,
    neighbor_offsets,
    psa_semantic_labels,
)

N_OFFSETS = len(neighbor_offsets(5))


def _uniform(height, width):
    return torch.ones(N_OFFSETS, height, width)


def _wall(height, width, column):
    """Affinity 1 within each side of a vertical line before ``column``, 0 across."""
    feats = torch.zeros(1, 1, height, width)
    feats[..., column:] = 100.0  # exp(-100): no affinity across the line
    return affinity_from_features(feats, 5)[0]


def test_uniform_affinity_spreads_one_class_everywhere():
    cams = torch.zeros(1, 64, 64)
    cams[:, :, :48] = 1.0  # three quarters of the image
    labels = psa_semantic_labels(cams, [4], _uniform(8, 8), (64, 64))
    assert labels.shape == (64, 64) and labels.dtype == torch.long
    assert (labels == 4).all()


def test_affinity_wall_stops_propagation():
    cams = torch.zeros(1, 64, 64)
    cams[:, :, :20] = 1.0  # 20 of the 32 columns left of the wall
    # without the wall the background (more than half the image) wins everywhere
    assert (psa_semantic_labels(cams, [2], _uniform(8, 8), (64, 64)) == 0).all()
    labels = psa_semantic_labels(cams, [2], _wall(8, 8, 4), (64, 64))
    # the left half of the map is class 2, the right half background; the
    # bilinear upsampling blends the two map columns next to the wall
    assert (labels[:, :28] == 2).all()
    assert (labels[:, 32:] == 0).all()


def test_keys_map_channels_to_classes():
    cams = torch.zeros(2, 40, 48)
    cams[0, :, :20] = 1.0
    cams[1, :, 28:] = 1.0
    labels = psa_semantic_labels(cams, torch.tensor([7, 3]), _wall(5, 6, 3), (40, 48))
    assert (labels[:, :24] == 7).all()
    assert (labels[:, 24:] == 3).all()


def test_no_class_is_all_background():
    labels = psa_semantic_labels(torch.zeros(0, 30, 20), [], _uniform(4, 3), (30, 20))
    assert labels.shape == (30, 20)
    assert (labels == 0).all()


def test_alpha_weakens_the_background():
    cams = torch.full((1, 32, 32), 0.3)  # weak activation everywhere
    affinity = _uniform(4, 4)
    low = psa_semantic_labels(cams, [1], affinity, (32, 32), alpha=1, steps=0)
    high = psa_semantic_labels(cams, [1], affinity, (32, 32), alpha=16, steps=0)
    assert (low == 0).all()  # 1 - 0.3 = 0.7 > 0.3
    assert (high == 1).all()  # 0.7 ** 16 < 0.01


def test_image_size_not_a_multiple_of_the_stride():
    cams = torch.zeros(1, 61, 57)
    cams[:, :30] = 1.0
    labels = psa_semantic_labels(cams, [5], _uniform(8, 8), (61, 57), steps=0)
    assert labels.shape == (61, 57)
    assert (labels[:24] == 5).all() and (labels[40:] == 0).all()


def test_size_errors():
    with pytest.raises(ValueError, match='high_res=True'):
        psa_semantic_labels(torch.zeros(1, 16, 16), [1], _uniform(8, 8), (64, 64))
    with pytest.raises(ValueError, match='expected 8x8'):
        psa_semantic_labels(torch.zeros(1, 64, 64), [1], _uniform(9, 8), (64, 64))
    with pytest.raises(ValueError, match='one key per map'):
        psa_semantic_labels(torch.zeros(2, 64, 64), [1], _uniform(8, 8), (64, 64))


def test_downscale_labels_takes_the_block_majority():
    labels = torch.zeros(1, 16, 20, dtype=torch.long)
    labels[0, :8, :8] = 3
    labels[0, :3, :8] = 255  # a minority of unsure pixels does not win
    labels[0, 8:, 8:16] = 255
    labels[0, 8:, 8:11] = 4
    small = downscale_labels(labels, (2, 3))
    # the last column is a half block padded with 255: 32 zeros vs 32 unsure,
    # a tie that goes to the smaller value
    assert small.tolist() == [[[3, 0, 0], [0, 255, 0]]]
    # crop and pad to the feature map
    assert downscale_labels(labels, (3, 2)).tolist() == [[[3, 0], [0, 255], [255, 255]]]


def test_pair_losses_values_and_empty_sets():
    affinity = torch.full((1, N_OFFSETS, 6, 6), 0.5, requires_grad=True)
    labels = torch.zeros(1, 6, 6, dtype=torch.long)
    terms = affinity_pair_losses(affinity, labels)
    assert terms['bg_pos'].item() == pytest.approx(-math.log(0.5 + 1e-5))
    assert terms['fg_pos'].item() == 0 and terms['neg'].item() == 0
    sum(terms.values()).backward()
    assert torch.isfinite(affinity.grad).all()

    labels[0, :, 3:] = 2
    terms = affinity_pair_losses(affinity, labels)
    assert terms['fg_pos'].item() == pytest.approx(-math.log(0.5 + 1e-5))
    assert terms['neg'].item() == pytest.approx(-math.log(0.5 + 1e-5))
    unsure = affinity_pair_losses(affinity, torch.full_like(labels, 255))
    assert all(v.item() == 0 for v in unsure.values())
    with pytest.raises(ValueError, match='does not match'):
        affinity_pair_losses(affinity, labels[:, :5])


def test_downscale_labels_nearest():
    labels = torch.arange(16 * 12).reshape(1, 16, 12) % 7
    small = downscale_labels(labels, (2, 2), stride=8, mode='nearest')
    assert torch.equal(small, labels[:, ::8, ::8])
    with pytest.raises(ValueError, match='mode'):
        downscale_labels(labels, (2, 2), mode='mean')
