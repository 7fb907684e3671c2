"""PtReCl's prototypes: bounded uniform samples, their merge, cosine K-means,
the mask on the feature grid and the features compared."""

import numpy as np
import pytest
import torch

from mmwsss.ops.prototypes import (
    PrototypeBank,
    Reservoir,
    cosine_kmeans,
    mask_to_grid,
    pixel_features,
    split_class_pixels,
)


def _inclusion(trials, capacity, chunks, n):
    """How often each of the stream's rows 0..n-1 ends in the sample."""
    hits = np.zeros(n)
    rows = np.arange(n, dtype=np.float32)[:, None]
    for seed in range(trials):
        r = Reservoir(capacity, seed=seed)
        for part in np.array_split(rows, chunks):
            r.add(part)
        assert r.count == n and len(r.samples) == capacity
        values = r.samples[:, 0].astype(int)
        assert len(set(values)) == capacity  # rows, not copies
        hits[values] += 1
    return hits / trials


@pytest.mark.parametrize('chunks', [1, 3, 20])
def test_reservoir_is_a_uniform_sample_whatever_the_chunks(chunks):
    freq = _inclusion(trials=3000, capacity=5, chunks=chunks, n=20)
    # each row is kept with probability 5 / 20; 3000 trials: sd 0.008
    np.testing.assert_allclose(freq, 0.25, atol=0.035)


def test_reservoir_below_capacity_keeps_every_row_in_order():
    r = Reservoir(10, seed=0)
    r.add(np.arange(6, dtype=np.float32).reshape(3, 2))
    r.add(np.empty((0, 2), np.float32))
    np.testing.assert_array_equal(r.samples, np.arange(6).reshape(3, 2))
    assert r.count == 3


def test_reservoir_memory_does_not_grow_with_the_stream():
    r = Reservoir(16, seed=0)
    r.add(np.ones((16, 4)))
    before = r.nbytes
    for _ in range(50):
        r.add(np.ones((100, 4)))
    assert r.nbytes == before == 16 * 4 * 4
    with pytest.raises(ValueError, match='dim'):
        r.add(np.ones((1, 5)))


def test_merge_is_a_uniform_sample_of_the_union():
    hits = np.zeros(40)
    trials = 3000
    for seed in range(trials):
        a, b = Reservoir(8, seed=2 * seed), Reservoir(8, seed=2 * seed + 1)
        a.add(np.arange(10, dtype=np.float32)[:, None])
        b.add(np.arange(10, 40, dtype=np.float32)[:, None])
        merged = Reservoir.merge([a.state(), b.state()], capacity=8, seed=seed)
        assert merged.count == 40 and len(merged.samples) == 8
        hits[merged.samples[:, 0].astype(int)] += 1
    # every row of both streams with probability 8 / 40, although stream a
    # keeps 8 of 10 and stream b 8 of 30 in their own samples
    np.testing.assert_allclose(hits / trials, 0.2, atol=0.035)


def test_merge_of_small_streams_keeps_them_all():
    a, b = Reservoir(8), Reservoir(8)
    a.add(np.zeros((2, 3)))
    b.add(np.ones((3, 3)))
    merged = Reservoir.merge([a.state(), b.state(), Reservoir(8).state()], 8)
    assert merged.count == 5
    np.testing.assert_array_equal(np.sort(merged.samples[:, 0]), [0, 0, 1, 1, 1])


def test_cosine_kmeans_finds_two_directions_whatever_the_lengths():
    rng = np.random.default_rng(0)
    e1, e2 = np.eye(4, dtype=np.float32)[:2]
    points = np.concatenate(
        [
            (e1 + 0.05 * rng.standard_normal((30, 4))) * rng.uniform(0.2, 5, (30, 1)),
            (e2 + 0.05 * rng.standard_normal((30, 4))) * rng.uniform(0.2, 5, (30, 1)),
        ]
    )
    centres, sizes = cosine_kmeans(points, 2, seed=0)
    assert centres.shape == (2, 4)
    np.testing.assert_allclose(np.linalg.norm(centres, axis=1), 1, atol=1e-5)
    best = np.sort((centres @ np.stack([e1, e2]).T).max(axis=0))
    assert best.min() > 0.99  # one centre per direction
    assert sizes.tolist() == [30, 30]


def test_cosine_kmeans_sizes_count_each_cluster_s_rows():
    """60 rows near e1, 6 near e2 (and 4 all-zero rows, which have no
    direction): the sizes are the clusters' rows, 60 and 6."""
    rng = np.random.default_rng(1)
    e1, e2 = np.eye(3, dtype=np.float32)[:2]
    points = np.concatenate(
        [
            e1 + 0.05 * rng.standard_normal((60, 3)),
            np.zeros((4, 3)),
            e2 + 0.05 * rng.standard_normal((6, 3)),
        ]
    )
    centres, sizes = cosine_kmeans(points, 2, seed=3)
    order = np.argsort(-(centres @ e1))
    assert sizes[order].tolist() == [60, 6]
    assert (centres[order] @ np.stack([e1, e2]).T).diagonal().min() > 0.99


def test_cosine_kmeans_with_fewer_points_than_k():
    points = np.array([[1, 0], [2, 0], [0, 3]], np.float32)
    centres, sizes = cosine_kmeans(points, 5)
    # two distinct directions: one prototype each, of 1 and 2 rows
    found = sorted(zip(map(tuple, centres.round(5)), sizes.tolist()))
    assert found == [((0.0, 1.0), 1), ((1.0, 0.0), 2)]
    centres, sizes = cosine_kmeans(np.empty((0, 2)), 3)
    assert centres.shape == (0, 2) and sizes.shape == (0,)
    centres, sizes = cosine_kmeans(np.zeros((5, 2)), 3)  # no direction at all
    assert centres.shape == (0, 2)


def test_mask_to_grid_takes_the_cell_s_majority_not_its_corner():
    """A 4x4 mask on a 2x2 grid (cells of 2x2 pixels), by hand:
    cell (0, 0): corner 1, three pixels 2 -> 2 (nearest: 1);
    cell (0, 1): two 0, two 3 -> a tie, no majority -> 255;
    cell (1, 0): corner 255, three 0 -> 0;
    cell (1, 1): three 255, one 1 -> 255 (mostly unlabelled)."""
    mask = torch.tensor(
        [
            [1, 2, 0, 3],
            [2, 2, 0, 3],
            [255, 0, 255, 255],
            [0, 0, 255, 1],
        ]
    )
    assert mask_to_grid(mask, (2, 2)).tolist() == [[2, 255], [0, 255]]
    # the old rule: each cell's top-left pixel
    assert mask_to_grid(mask, (2, 2), 'nearest').tolist() == [[1, 0], [255, 255]]
    # with another ignore value, 255 is a label like the others
    assert mask_to_grid(mask, (2, 2), ignore_index=7).tolist() == [[2, 7], [0, 255]]
    with pytest.raises(ValueError, match='rule'):
        mask_to_grid(mask, (2, 2), 'mode')


def test_mask_to_grid_on_a_stride_16_grid():
    """An object covering the right 10 columns of the first 16x16 cell: the
    cell's top-left pixel is background, 10 / 16 of it is the object."""
    mask = torch.zeros(32, 32, dtype=torch.long)
    mask[:16, 6:16] = 4
    mask[16:, 16:] = 5
    mask[16:, 16:23] = 0  # 7 / 16 of cell (1, 1): 5 keeps 9 / 16
    assert mask_to_grid(mask, (2, 2)).tolist() == [[4, 0], [0, 5]]
    assert mask_to_grid(mask, (2, 2), 'nearest').tolist() == [[0, 0], [0, 0]]


def test_pixel_features_one_level_or_sipe_s_stack():
    low = torch.arange(2 * 4 * 4, dtype=torch.float).reshape(1, 2, 4, 4)
    high = torch.zeros(1, 3, 2, 2)
    high[:, 0] = 5.0
    assert torch.equal(pixel_features([low, high], 0), low)
    assert torch.equal(pixel_features([low, high], -1), high)
    stacked = pixel_features([low, high], (0, 1))
    assert stacked.shape == (1, 5, 2, 2)  # on the coarsest grid
    # each level unit-normalised per pixel before the resize: the coarse
    # level's part is exactly (1, 0, 0); the fine level's part is the mean of
    # unit vectors (bilinear halving averages each 2x2 block)
    assert torch.equal(stacked[0, 2:, 0, 0], torch.tensor([1.0, 0.0, 0.0]))
    unit = torch.nn.functional.normalize(low, dim=1)
    torch.testing.assert_close(stacked[0, :2, 0, 0], unit[0, :, :2, :2].mean((1, 2)))


def test_split_class_pixels_hand_case():
    features = np.arange(12, dtype=np.float32).reshape(3, 2, 2)  # D=3, 2x2 grid
    mask = np.array([[1, 0], [255, 2]])
    split = split_class_pixels(features, mask, [1, 2])
    fg1, bg1 = split[1]
    np.testing.assert_array_equal(fg1, [[0, 4, 8]])  # pixel (0, 0)
    np.testing.assert_array_equal(bg1, [[1, 5, 9], [3, 7, 11]])  # not 255
    fg2, bg2 = split[2]
    np.testing.assert_array_equal(fg2, [[3, 7, 11]])
    assert len(bg2) == 2
    with pytest.raises(ValueError, match='grid'):
        split_class_pixels(features, mask[:1], [1])


def test_bank_gives_each_class_its_fg_and_bg_clusters():
    """Class 1's objects look like e1 or e2, its surroundings like e3 or e4;
    class 2's objects like e5 (one cluster only)."""
    rng = np.random.default_rng(0)
    eye = np.eye(6, dtype=np.float32)
    bank = PrototypeBank(num_classes=3, capacity=64, seed=0)
    for i in range(20):
        mask = np.zeros((4, 4), np.int64)
        mask[:2] = 1
        mask[3, 3] = 255
        features = np.empty((6, 4, 4), np.float32)
        for y in range(4):
            for x in range(4):
                if mask[y, x] == 1:
                    d = eye[0] if x < 2 else eye[1]
                else:
                    d = eye[2] if (x + i) % 2 else eye[3]
                features[:, y, x] = d + 0.02 * rng.standard_normal(6)
        bank.add_image(features, mask, [1])
    mask2 = np.full((4, 4), 2)
    mask2[0, 0] = 0
    bank.add_image(np.tile(eye[4][:, None, None], (1, 4, 4)), mask2, [2])
    assert bank.nbytes <= 4 * 64 * 6 * 4
    protos = bank.prototypes(k=2)
    assert protos['fg'].shape == (3, 2, 6)
    # the sizes count the sample's rows: 64 of class 1's 160 (half e1, half
    # e2), all 15 of class 2's (one direction)
    assert protos['fg_sizes'][1].sum() == 64 and protos['fg_sizes'][1].min() > 16
    assert protos['fg_sizes'][2].tolist() == [15, 0]
    assert protos['fg_pixels'].tolist() == [0, 160, 15]
    assert protos['bg_pixels'].tolist() == [0, 140, 1]
    assert protos['fg_counts'].tolist() == [0, 2, 1]
    fg1 = protos['fg'][1]
    assert np.sort((fg1 @ eye[[0, 1]].T).max(axis=0)).min() > 0.99
    bg1 = protos['bg'][1]
    assert np.sort((bg1 @ eye[[2, 3]].T).max(axis=0)).min() > 0.99
    np.testing.assert_allclose(protos['fg'][2, 0], eye[4], atol=1e-6)
    assert not protos['fg'][2, 1].any()  # padding past the count


def test_merged_banks_hold_both_ranks_pixels():
    eye = np.eye(3, dtype=np.float32)
    states = []
    for rank, direction in enumerate(eye[:2]):
        bank = PrototypeBank(num_classes=2, capacity=8, seed=rank)
        features = np.tile(direction[:, None, None], (1, 2, 2))
        bank.add_image(features, np.ones((2, 2), np.int64), [1])
        states.append(bank.state())
    merged = PrototypeBank.merge(states, num_classes=2, capacity=8)
    protos = merged.prototypes(k=2)
    assert protos['fg_pixels'][1] == 8
    assert np.sort((protos['fg'][1] @ eye[:2].T).max(axis=0)).min() > 0.999
