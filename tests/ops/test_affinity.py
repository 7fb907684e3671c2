import pytest
import torch

from mmwsss.ops.affinity import (
    affinity_from_features,
    boundary_to_affinity,
    neighbor_offsets,
    neighbor_values,
    pair_indices,
    pair_label_masks,
    path_points,
    valid_pair_mask,
)


def _brute_offsets(radius):
    return {
        (dy, dx)
        for dy in range(-radius, radius + 1)
        for dx in range(-radius, radius + 1)
        if 0 < dy * dy + dx * dx < radius * radius
    }


@pytest.mark.parametrize('radius, count', [(1, 0), (2, 4), (3, 12), (5, 34), (10, 152)])
def test_neighbor_offsets_counts_and_forward_half(radius, count):
    offsets = neighbor_offsets(radius)
    assert len(offsets) == count
    assert len(set(offsets)) == count
    assert all(dy > 0 or (dy == 0 and dx > 0) for dy, dx in offsets)
    # forward half + its mirror image = the whole disk without the centre
    both = set(offsets) | {(-dy, -dx) for dy, dx in offsets}
    assert len(both) == 2 * count
    assert both == _brute_offsets(radius)


def test_neighbor_offsets_order_and_errors():
    assert neighbor_offsets(3)[:3] == [(0, 1), (0, 2), (1, -2)]
    assert neighbor_offsets(3)[-1] == (2, 2)
    assert (4, 0) in neighbor_offsets(5) and (3, 3) in neighbor_offsets(5)
    assert (3, 4) not in neighbor_offsets(5) and (4, 3) not in neighbor_offsets(5)
    for bad in (0, -1, 2.0, True):
        with pytest.raises(ValueError, match='radius'):
            neighbor_offsets(bad)


@pytest.mark.parametrize('height, width, radius', [(5, 7, 3), (2, 3, 5), (1, 1, 2)])
def test_pair_indices_match_brute_force(height, width, radius):
    src, dst, ids = pair_indices(height, width, radius)
    assert src.dtype == dst.dtype == ids.dtype == torch.long
    offsets = neighbor_offsets(radius)
    expected = []
    for k, (dy, dx) in enumerate(offsets):
        for y in range(height):
            for x in range(width):
                if 0 <= y + dy < height and 0 <= x + dx < width:
                    expected.append((y * width + x, (y + dy) * width + x + dx, k))
    got = list(zip(src.tolist(), dst.tolist(), ids.tolist()))
    assert got == expected  # same pairs, offset by offset, row-major sources
    # the documented index into a flattened (n_offsets, H, W) map
    mask = valid_pair_mask(height, width, radius)
    flat = torch.zeros(len(offsets) * height * width, dtype=torch.bool)
    flat[ids * height * width + src] = True
    assert torch.equal(flat.view_as(mask), mask)
    assert int(mask.sum()) == len(expected)


def test_pair_indices_count_radius_5():
    src, _, _ = pair_indices(8, 9, 5)
    # every pixel pair within the radius once: brute force over all pixel pairs
    coords = [(y, x) for y in range(8) for x in range(9)]
    n_pairs = sum(
        1
        for i, (y0, x0) in enumerate(coords)
        for y1, x1 in coords[i + 1 :]
        if (y1 - y0) ** 2 + (x1 - x0) ** 2 < 25
    )
    assert len(src) == n_pairs


def test_path_points_hand_cases():
    assert path_points((0, 3)) == [(0, 0), (0, 1), (0, 2), (0, 3)]
    assert path_points((3, 0)) == [(0, 0), (1, 0), (2, 0), (3, 0)]
    # the diagonal step takes the whole 2x2 block: a thin anti-diagonal
    # boundary cannot be jumped
    assert sorted(path_points((1, 1))) == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert sorted(path_points((2, 2))) == [
        (0, 0),
        (0, 1),
        (1, 0),
        (1, 1),
        (1, 2),
        (2, 1),
        (2, 2),
    ]
    # (1, 4): every pixel of the 2x5 box is within distance 1 of the line
    assert len(path_points((1, 4))) == 10
    assert sorted(path_points((2, -3))) == [
        (0, -1),
        (0, 0),
        (1, -3),
        (1, -2),
        (1, -1),
        (1, 0),
        (2, -3),
        (2, -2),
    ]
    with pytest.raises(ValueError, match='non-zero'):
        path_points((0, 0))


@pytest.mark.parametrize('radius', [5, 10])
def test_path_points_inclusive_symmetric_ordered(radius):
    for dy, dx in neighbor_offsets(radius):
        _check_path(dy, dx)


def _check_path(dy, dx):
    points = path_points((dy, dx))
    assert points[0] == (0, 0) and points[-1] == (dy, dx)
    assert len(set(points)) == len(points)
    # the same pixels seen from the other end of the pair
    assert {(dy - y, dx - x) for y, x in points} == set(points)
    # the reverse offset's path is the mirror image
    assert {(-y, -x) for y, x in path_points((-dy, -dx))} == set(points)
    # ordered along the line, inside the bounding box
    proj = [y * dy + x * dx for y, x in points]
    assert proj == sorted(proj)
    assert all(min(0, dy) <= y <= max(0, dy) for y, _ in points)
    assert all(min(0, dx) <= x <= max(0, dx) for _, x in points)


def test_neighbor_values_brute_force():
    labels = torch.randint(0, 4, (2, 4, 5))
    out = neighbor_values(labels, 3, fill=255)
    offsets = neighbor_offsets(3)
    assert out.shape == (2, len(offsets), 4, 5) and out.dtype == labels.dtype
    for k, (dy, dx) in enumerate(offsets):
        for y in range(4):
            for x in range(5):
                inside = 0 <= y + dy < 4 and 0 <= x + dx < 5
                expected = labels[:, y + dy, x + dx] if inside else torch.tensor(255)
                assert torch.equal(out[:, k, y, x], expected.expand(2))


def test_boundary_to_affinity_vertical_line():
    value = 0.7
    boundary = torch.zeros(1, 5, 5, dtype=torch.float64)
    boundary[0, :, 2] = value
    radius = 3
    aff = boundary_to_affinity(boundary, radius)
    offsets = neighbor_offsets(radius)
    assert aff.shape == (1, len(offsets), 5, 5)
    for k, (dy, dx) in enumerate(offsets):
        for y in range(5):
            for x in range(5):
                if not (0 <= y + dy < 5 and 0 <= x + dx < 5):
                    expected = 0.0
                elif min(x, x + dx) <= 2 <= max(x, x + dx):  # touches the line
                    expected = 1 - value
                else:
                    expected = 1.0
                assert aff[0, k, y, x].item() == pytest.approx(expected), (k, y, x)


def test_boundary_to_affinity_brute_force_and_gradient():
    torch.manual_seed(0)
    boundary = torch.rand(2, 6, 7, dtype=torch.float64, requires_grad=True)
    radius = 4
    aff = boundary_to_affinity(boundary, radius)
    offsets = neighbor_offsets(radius)
    mask = valid_pair_mask(6, 7, radius)
    for k, (dy, dx) in enumerate(offsets):
        for y in range(6):
            for x in range(7):
                if not mask[k, y, x]:
                    assert torch.all(aff[:, k, y, x] == 0)
                    continue
                path = torch.stack(
                    [boundary[:, y + py, x + px] for py, px in path_points((dy, dx))]
                )
                expected = 1 - path.max(dim=0).values
                assert torch.allclose(aff[:, k, y, x], expected)
    # each in-image pair sends gradient -1 to its strongest path pixel only
    aff.sum().backward()
    assert boundary.grad.sum().item() == pytest.approx(-2 * int(mask.sum()))
    assert (boundary.grad <= 0).all()


def test_boundary_to_affinity_rejects_bad_shape():
    with pytest.raises(ValueError, match=r'\(B, H, W\)'):
        boundary_to_affinity(torch.zeros(1, 1, 4, 4), 3)


def test_affinity_from_features_brute_force():
    torch.manual_seed(1)
    feats = torch.randn(2, 3, 4, 5, dtype=torch.float64)
    radius = 3
    aff = affinity_from_features(feats, radius)
    offsets = neighbor_offsets(radius)
    assert aff.shape == (2, len(offsets), 4, 5)
    for k, (dy, dx) in enumerate(offsets):
        for y in range(4):
            for x in range(5):
                if 0 <= y + dy < 4 and 0 <= x + dx < 5:
                    diff = feats[:, :, y, x] - feats[:, :, y + dy, x + dx]
                    expected = torch.exp(-diff.abs().mean(dim=1))
                else:
                    expected = torch.zeros(2, dtype=torch.float64)
                assert torch.allclose(aff[:, k, y, x], expected), (k, y, x)
    # identical features are fully affine wherever the pair exists
    same = affinity_from_features(torch.ones(1, 2, 4, 5), radius)
    assert torch.equal(same[0], valid_pair_mask(4, 5, radius).float())
    with pytest.raises(ValueError, match=r'\(B, C, H, W\)'):
        affinity_from_features(torch.zeros(3, 4, 5), radius)


def test_pair_label_masks_hand_case():
    # 1 x 4 map: bg, bg, fg 3, unsure; radius 3 offsets include (0, 1) and (0, 2)
    labels = torch.tensor([[[0, 0, 3, 255]]])
    masks = pair_label_masks(labels, radius=3)
    offsets = neighbor_offsets(3)
    k1, k2 = offsets.index((0, 1)), offsets.index((0, 2))
    assert masks['bg_pos'][0, k1, 0].tolist() == [True, False, False, False]
    assert masks['neg'][0, k1, 0].tolist() == [False, True, False, False]
    assert masks['neg'][0, k2, 0].tolist() == [True, False, False, False]
    assert not masks['fg_pos'].any()
    # pairs that leave the 1-row image are in no set
    down = [k for k, (dy, _) in enumerate(offsets) if dy > 0]
    for name in ('bg_pos', 'fg_pos', 'neg'):
        assert not masks[name][0, down].any()


def test_pair_label_masks_partition_matches_pair_indices():
    gen = torch.Generator().manual_seed(0)
    labels = torch.randint(0, 3, (1, 6, 7), generator=gen)
    labels[0, 2, 3] = 255
    masks = pair_label_masks(labels, radius=4)
    src, dst, ids = pair_indices(6, 7, 4)
    flat = labels.reshape(-1)
    a, b = flat[src], flat[dst]
    known = (a != 255) & (b != 255)
    entry = ids * 42 + src
    for name, expect in (
        ('bg_pos', known & (a == b) & (a == 0)),
        ('fg_pos', known & (a == b) & (a != 0)),
        ('neg', known & (a != b)),
    ):
        got = masks[name].reshape(-1)
        assert got.sum() == expect.sum()
        assert torch.equal(got[entry], expect)


def test_pair_label_masks_rejects_float():
    with pytest.raises(ValueError, match='integer label map'):
        pair_label_masks(torch.zeros(1, 3, 3), radius=2)
