import math

import pytest
import torch
import torch.nn.functional as F

from mmwsss.ops import dense_random_walk, neighbor_offsets
from mmwsss.ops.affinity import (
    boundary_to_affinity,
    neighbor_values,
    pair_label_masks,
)
from mmwsss.ops.irn import irn_pair_losses, irn_semantic_labels


def _blob(size, y0, y1, x0, x1, value=1.0):
    cam = torch.zeros(size, dtype=torch.float64)
    cam[y0:y1, x0:x1] = value
    return cam


def test_zero_boundary_one_class_matches_dense_oracle():
    cam = _blob((10, 24), 2, 5, 1, 4)[None]
    boundary = torch.zeros(10, 24, dtype=torch.float64)
    boundary[6:8, 10] = 0.5
    labels = irn_semantic_labels(cam, [3], boundary, (38, 93), steps=2)
    assert labels.shape == (38, 93) and labels.dtype == torch.long
    # oracle: dense walk, x4 upsampling, global max, background 0.25
    affinity = boundary_to_affinity(boundary[None], 5)[0]
    walked = dense_random_walk(cam * (1 - boundary), affinity, 5, beta=10, logt=1)
    up = F.interpolate(walked[None], size=(40, 96), mode='bilinear')[0, 0, :38, :93]
    expected = torch.where(up / up.max() > 0.25, 3, 0)
    assert torch.equal(labels, expected)
    # the class spreads beyond its seed but not over the whole image
    assert 0 < (labels == 3).sum() < labels.numel()
    assert set(labels.unique().tolist()) == {0, 3}


def test_closed_boundary_ring_stops_propagation():
    size = (16, 16)
    boundary = _blob(size, 4, 12, 4, 12) - _blob(size, 5, 11, 5, 11)  # 1-px ring
    cam = _blob(size, 5, 11, 5, 11)[None]  # inside the ring only
    labels = irn_semantic_labels(cam, torch.tensor([2]), boundary, (64, 64))
    inside = labels[24:40, 24:40]
    assert (inside == 2).all()
    outside = torch.ones(64, 64, dtype=torch.bool)
    outside[12:52, 12:52] = False  # the ring and a pixel of interpolation margin
    assert (labels[outside] == 0).all()
    # without the ring the class leaks out
    leaked = irn_semantic_labels(cam, [2], torch.zeros(size), (64, 64))
    assert (leaked[outside] == 2).any()


def test_argmax_between_classes_and_background():
    size = (8, 16)
    cams = torch.stack([_blob(size, 0, 8, 0, 4), _blob(size, 0, 8, 12, 16, 0.5)])
    boundary = torch.zeros(size)
    boundary[:, 8] = 1  # a wall between the two halves
    labels = irn_semantic_labels(cams.float(), [4, 7], boundary, (32, 64))
    assert (labels[:, :28] == 4).all()
    assert (labels[:, 40:] == 7).all()


def test_no_class_gives_background():
    labels = irn_semantic_labels(torch.zeros(0, 5, 6), [], torch.rand(5, 6), (17, 21))
    assert labels.shape == (17, 21) and (labels == 0).all()


def test_cam_size_mismatch():
    boundary = torch.zeros(8, 8)
    cam = torch.ones(1, 9, 7)  # another rounding of the strided size
    labels = irn_semantic_labels(cam, [1], boundary, (32, 32), steps=4)
    assert (labels == 1).all()
    with pytest.raises(ValueError, match='do not match the boundary map'):
        irn_semantic_labels(torch.ones(1, 16, 16), [1], boundary, (32, 32))
    with pytest.raises(ValueError, match='one key per map'):
        irn_semantic_labels(torch.ones(2, 8, 8), [1], boundary, (32, 32))
    with pytest.raises(ValueError, match='does not cover'):
        irn_semantic_labels(torch.ones(1, 8, 8), [1], boundary, (40, 32))


def test_pair_losses_sign_convention_and_empty_sets():
    height, width = 6, 7
    ys, xs = torch.meshgrid(
        torch.arange(height, dtype=torch.float32),
        torch.arange(width, dtype=torch.float32),
        indexing='ij',
    )
    centre = torch.tensor([2.5, 3.0])
    # D(p) points from p to the instance centroid
    to_centre = torch.stack([centre[0] - ys, centre[1] - xs])[None]
    labels = torch.ones(1, height, width, dtype=torch.long)
    boundary = torch.zeros(1, height, width)
    losses = irn_pair_losses(boundary, to_centre, labels, radius=3)
    assert losses['dp_fg'] < 1e-6
    assert losses['aff_pos'] < 1e-4
    # no bg or negative pairs: those terms are 0, not nan
    assert losses['dp_bg'] == 0 and losses['aff_neg'] == 0
    away = irn_pair_losses(boundary, -to_centre, labels, radius=3)
    assert away['dp_fg'] > 0.5

    unsure = torch.full_like(labels, 255)
    field = torch.randn(1, 2, height, width, requires_grad=True)
    edge = torch.rand(1, height, width, requires_grad=True)
    empty = irn_pair_losses(edge, field, unsure, radius=3)
    total = sum(empty.values())
    assert total == 0
    total.backward()
    assert torch.isfinite(field.grad).all() and torch.isfinite(edge.grad).all()


def test_pair_losses_negative_pairs_and_background():
    labels = torch.zeros(1, 4, 8, dtype=torch.long)
    labels[:, :, 4:] = 1
    boundary = torch.zeros(1, 4, 8)
    losses = irn_pair_losses(boundary, torch.zeros(1, 2, 4, 8), labels, radius=2)
    # affinity 1 across the class change: -log(1e-5)
    assert losses['aff_neg'].item() == pytest.approx(-math.log(1e-5), rel=1e-3)
    assert losses['dp_bg'] == 0
    # a zero field misses the fg pairs' offsets: mean |offset| over 2 components
    offsets = torch.tensor(neighbor_offsets(2), dtype=torch.float32)
    assert losses['dp_fg'] > 0 and losses['dp_fg'] <= offsets.abs().max()
    boundary[:, :, 3:5] = 1
    walled = irn_pair_losses(boundary, torch.zeros(1, 2, 4, 8), labels, radius=2)
    assert walled['aff_neg'] < 1e-4


def _dense_pair_losses(boundary, displacement, labels, radius, eps=1e-5):
    """IRN's loss written over the full (B, P, h, w) pair maps, from the
    separately tested pair primitives (the form the offset loop replaces)."""
    masks = pair_label_masks(labels, radius, 255)
    affinity = boundary_to_affinity(boundary, radius)

    def masked_mean(values, mask):
        return (values * mask).sum() / mask.sum().clamp(min=1)

    pos_log = -torch.log(affinity + eps)
    aff_pos = masked_mean(pos_log, masks['bg_pos']) + masked_mean(
        pos_log, masks['fg_pos']
    )
    diff = displacement[:, :, None] - neighbor_values(displacement, radius)
    target = displacement.new_tensor(neighbor_offsets(radius)).t()[
        None, :, :, None, None
    ]
    return dict(
        aff_pos=aff_pos / 2,
        aff_neg=masked_mean(-torch.log(1 + eps - affinity), masks['neg']),
        dp_fg=masked_mean((diff - target).abs().mean(dim=1), masks['fg_pos']),
        dp_bg=masked_mean(diff.abs().mean(dim=1), masks['bg_pos']),
    )


def test_pair_losses_equal_the_dense_pair_map_form():
    g = torch.Generator().manual_seed(3)
    logits = torch.randn(2, 13, 17, generator=g, requires_grad=True)
    field = torch.randn(2, 2, 13, 17, generator=g, requires_grad=True)
    labels = torch.randint(0, 3, (2, 13, 17), generator=g)
    labels[torch.rand(2, 13, 17, generator=g) < 0.2] = 255
    results = []
    for fn in (irn_pair_losses, _dense_pair_losses):
        terms = fn(torch.sigmoid(logits), field, labels, radius=5)
        total = sum(terms.values())
        grads = torch.autograd.grad(total, (logits, field))
        results.append((terms, grads))
    (ours, our_grads), (dense, dense_grads) = results
    for key, value in dense.items():
        assert value > 0.05, key  # every set is populated
        assert torch.allclose(ours[key], value, rtol=1e-5), key
    for mine, ref in zip(our_grads, dense_grads):
        assert ref.abs().max() > 0
        assert torch.allclose(mine, ref, rtol=1e-4, atol=1e-7)
