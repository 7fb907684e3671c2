import numpy as np
import pytest
import torch

from mmwsss.ops import (
    cluster_centroids,
    displacement_to_centroids,
    instance_pseudo_labels,
)

H, W = 8, 16
CENTRES = ((3, 3), (3, 12))


def _two_centroid_field(gain=1.0):
    """Left half points at CENTRES[0], right half at CENTRES[1]."""
    ys, xs = torch.meshgrid(
        torch.arange(H, dtype=torch.float32),
        torch.arange(W, dtype=torch.float32),
        indexing='ij',
    )
    left = xs < W // 2
    cy = torch.where(left, float(CENTRES[0][0]), float(CENTRES[1][0]))
    cx = torch.where(left, float(CENTRES[0][1]), float(CENTRES[1][1]))
    return gain * torch.stack([cy - ys, cx - xs]), left


@pytest.mark.parametrize('gain', [1.0, 0.7])
def test_displacement_reaches_two_centroids(gain):
    disp, left = _two_centroid_field(gain)
    ends = displacement_to_centroids(disp)
    assert ends.shape == (2, H, W) and ends.dtype == torch.long
    expected_x = torch.where(left, CENTRES[0][1], CENTRES[1][1])
    assert torch.equal(ends[0], torch.full((H, W), 3))
    assert torch.equal(ends[1], expected_x)

    ids = cluster_centroids(ends, disp)
    assert ids.shape == (H, W)
    assert ids.unique().tolist() == [0, 1]
    # each half is one instance
    assert torch.equal(ids, (~left).long())


def test_displacement_is_clamped_and_zero_iterations_is_identity():
    disp = torch.zeros(2, 3, 4)
    disp[1] = 10.0  # everything pushed off the right edge
    ends = displacement_to_centroids(disp)
    assert torch.equal(ends[1], torch.full((3, 4), 3))
    assert torch.equal(ends[0], torch.arange(3)[:, None].expand(3, 4))
    grid = displacement_to_centroids(disp, n_iters=0)
    assert torch.equal(grid[1], torch.arange(4).expand(3, 4))


def test_end_points_off_the_centroid_map_form_their_own_group():
    # strong displacement everywhere: no centroid region to land in
    disp = torch.full((2, 4, 4), 3.0)
    ids = cluster_centroids(displacement_to_centroids(disp), disp)
    assert torch.equal(ids, torch.zeros(4, 4, dtype=torch.long))


def _blob_cams():
    cams = torch.zeros(1, H, W)
    cams[0, 2:6, 1:6] = 1.0  # blob A (left)
    cams[0, 2:6, 10:15] = 1.0  # blob B (right)
    return cams


def _blob_masks(stride=4):
    small = _blob_cams()[0].numpy() > 0
    big = small.repeat(stride, 0).repeat(stride, 1)
    left = np.zeros_like(big)
    left[:, : W * stride // 2] = True
    return big & left, big & ~left


def _iou(a, b):
    return (a & b).sum() / (a | b).sum()


def test_two_blobs_of_one_class_give_two_instances():
    disp, _ = _two_centroid_field()
    # without a boundary a long walk spreads each blob over the whole tiny map;
    # the boundary test below runs the full walk
    instances = instance_pseudo_labels(
        _blob_cams(), [7], torch.zeros(H, W), disp, (4 * H, 4 * W), steps=0
    )
    assert len(instances) == 2
    for inst, blob in zip(instances, _blob_masks()):
        assert inst['mask'].shape == (4 * H, 4 * W) and inst['mask'].dtype == bool
        assert inst['label'] == 7
        assert 0 < inst['score'] <= 1
        assert _iou(inst['mask'], blob) > 0.8
    assert max(i['score'] for i in instances) == pytest.approx(1.0)


def test_boundary_keeps_the_full_walk_inside_each_instance():
    disp, _ = _two_centroid_field()
    boundary = torch.zeros(H, W)
    boundary[1, 0:7] = boundary[6, 0:7] = 1.0  # ring around blob A
    boundary[1:7, 0] = boundary[1:7, 6] = 1.0
    boundary[1, 9:16] = boundary[6, 9:16] = 1.0  # ring around blob B
    boundary[1:7, 9] = boundary[1:7, 15] = 1.0
    # crop the image below the map size: the masks are cropped too
    instances = instance_pseudo_labels(_blob_cams(), [3], boundary, disp, (30, 64))
    assert [i['label'] for i in instances] == [3, 3]
    for inst, blob in zip(instances, _blob_masks()):
        assert inst['mask'].shape == (30, 64)
        assert _iou(inst['mask'], blob[:30]) > 0.8


def test_fragments_keep_score_zero():
    disp, _ = _two_centroid_field()
    cams, boundary = _blob_cams(), torch.zeros(H, W)
    kept = instance_pseudo_labels(cams, [1], boundary, disp, (32, 64), steps=0)
    tiny = instance_pseudo_labels(
        cams, [1], boundary, disp, (32, 64), steps=0, min_fraction=0.5
    )
    assert len(tiny) == len(kept) == 2
    assert [i['score'] for i in tiny] == [0.0, 0.0]
    for a, b in zip(kept, tiny):
        assert np.array_equal(a['mask'], b['mask'])


def test_no_classes_or_no_activation_gives_no_instances():
    disp, _ = _two_centroid_field()
    boundary = torch.zeros(H, W)
    empty = torch.zeros(0, H, W)
    assert instance_pseudo_labels(empty, [], boundary, disp, (32, 64)) == []
    zero = torch.zeros(1, H, W)
    assert instance_pseudo_labels(zero, [2], boundary, disp, (32, 64)) == []


def test_rejects_mismatched_inputs():
    disp, _ = _two_centroid_field()
    with pytest.raises(ValueError, match='do not cover'):
        instance_pseudo_labels(_blob_cams(), [1], torch.zeros(H, W), disp, (40, 64))
    with pytest.raises(ValueError, match='boundary'):
        instance_pseudo_labels(_blob_cams(), [1], torch.zeros(H, 3), disp, (32, 64))
    with pytest.raises(ValueError, match='displacement'):
        displacement_to_centroids(torch.zeros(3, H, W))
