"""PtReCl's reclassification: the top-m prototypes vote foreground or not."""

import pytest
import torch

from mmwsss.ops.reclassify import prototype_votes, reclassify, score_maps


def _features(directions):
    """(D, 1, n) features, one pixel per direction."""
    return torch.stack(directions, dim=1)[:, None, :]


def test_prototypes_decide_known_pixels():
    eye = torch.eye(4)
    fg = torch.stack([eye[0], eye[1]])
    bg = torch.stack([eye[2], eye[3]])
    pixels = [
        eye[0] * 3,  # a foreground prototype's direction (any length)
        eye[2],  # a background one's
        eye[0] + 0.9 * eye[1] - 0.2 * eye[2],  # nearer both fg prototypes
        eye[2] + eye[3] + 0.3 * eye[0],  # nearer both bg prototypes
    ]
    votes = prototype_votes(_features(pixels), fg, bg, top_m=2)
    assert votes.shape == (1, 4)
    assert votes[0].tolist() == [0.5, 0.0, 1.0, 0.0]
    # top-1: the single most similar prototype decides
    assert prototype_votes(_features(pixels), fg, bg, 1)[0].tolist() == [
        1.0,
        0.0,
        1.0,
        0.0,
    ]
    # all four vote: always a tie
    assert prototype_votes(_features(pixels), fg, bg, 4).unique().tolist() == [0.5]


def test_hand_computed_three_of_four():
    """fg prototypes at 0, 20 and 40 degrees, bg at 90 and 180; a pixel at
    30 degrees: its three most similar are fg 20, fg 40, fg 0; its 4th is bg 90."""
    import math

    def unit(deg):
        r = math.radians(deg)
        return torch.tensor([math.cos(r), math.sin(r)])

    fg = torch.stack([unit(0), unit(20), unit(40)])
    bg = torch.stack([unit(90), unit(180)])
    pixel = _features([unit(30)])
    assert prototype_votes(pixel, fg, bg, 3).item() == 1.0
    assert prototype_votes(pixel, fg, bg, 4).item() == 0.75


def test_bad_arguments():
    eye = torch.eye(2)
    with pytest.raises(ValueError, match='top_m'):
        prototype_votes(_features([eye[0]]), eye[:1], eye[1:], 3)
    with pytest.raises(ValueError, match='prototypes'):
        prototype_votes(_features([eye[0]]), eye[:0], eye[1:], 1)
    with pytest.raises(ValueError, match='D, h, w'):
        prototype_votes(eye, eye[:1], eye[1:], 1)


def test_reclassify_per_class_and_missing_prototypes():
    eye = torch.eye(3)
    fg = torch.zeros(3, 2, 3)
    bg = torch.zeros(3, 2, 3)
    fg[1, 0], bg[1, 0] = eye[0], eye[1]
    fg[2, :2], bg[2, 0] = eye[1], eye[0]
    fg_counts = torch.tensor([0, 1, 2])
    bg_counts = torch.tensor([0, 1, 1])
    features = _features([eye[0], eye[1]])
    maps = reclassify(
        features, torch.tensor([1, 2]), fg, bg, fg_counts, bg_counts, top_m=5
    )
    # top_m is clipped to the class's prototypes (2 and 3)
    assert maps[0, 0].tolist() == [0.5, 0.5]
    assert maps[1, 0].tolist() == pytest.approx([2 / 3, 2 / 3])
    maps = reclassify(features, torch.tensor([1, 2]), fg, bg, fg_counts, bg_counts, 1)
    assert maps[:, 0].tolist() == [[1.0, 0.0], [0.0, 1.0]]
    no_protos = reclassify(
        features, torch.tensor([1]), fg, bg, torch.zeros(3), bg_counts, 1
    )
    assert not no_protos.any()


def test_votes_weighted_by_cluster_size_hand_case():
    """fg prototypes at 0 (a cluster of 2 rows) and 20 degrees (28 rows), bg
    at 40 (70 rows) and 180 (30 rows); a pixel at 10 degrees: its top 3 are
    fg 0, fg 20 and bg 40. One vote each: 2 / 3 foreground. Weighted by the
    share of its side: fg 2 / 30 and 28 / 30, bg 70 / 100, so
    (1/15 + 14/15) / (1/15 + 14/15 + 0.7) = 1 / 1.7."""
    import math

    def unit(deg):
        r = math.radians(deg)
        return torch.tensor([math.cos(r), math.sin(r)])

    fg = torch.stack([unit(0), unit(20)])
    bg = torch.stack([unit(40), unit(180)])
    pixel = _features([unit(10)])
    assert prototype_votes(pixel, fg, bg, 3).item() == pytest.approx(2 / 3)
    fg_sizes, bg_sizes = torch.tensor([2, 28]), torch.tensor([70, 30])
    weighted = prototype_votes(pixel, fg, bg, 3, fg_sizes, bg_sizes)
    assert weighted.item() == pytest.approx(1 / 1.7)
    # a pixel at 5 degrees votes fg 0, fg 20 (top 2): foreground whatever
    # the weights
    assert prototype_votes(_features([unit(5)]), fg, bg, 2, fg_sizes, bg_sizes) == 1


def test_a_small_cluster_no_longer_outvotes_a_large_one():
    """Top 2 of a pixel: fg prototype A (2% of the foreground) and bg
    prototype B (30% of the background). One vote each: a tie (0.5); by size:
    0.02 against 0.3, so background (0.0625)."""
    eye = torch.eye(3)
    fg = torch.stack([eye[0], eye[2]])
    bg = torch.stack([eye[1], -eye[0]])
    pixel = _features([eye[0] + eye[1]])
    assert prototype_votes(pixel, fg, bg, 2).item() == 0.5
    share = prototype_votes(
        pixel, fg, bg, 2, torch.tensor([2.0, 98.0]), torch.tensor([30.0, 70.0])
    )
    assert share.item() == pytest.approx(0.02 / 0.32)


def test_vote_weights_must_fit():
    eye = torch.eye(2)
    pixel = _features([eye[0]])
    with pytest.raises(ValueError, match='both sides'):
        prototype_votes(pixel, eye[:1], eye[1:], 1, torch.tensor([1.0]), None)
    with pytest.raises(ValueError, match='fit'):
        prototype_votes(pixel, eye[:1], eye[1:], 1, torch.ones(2), torch.ones(1))
    with pytest.raises(ValueError, match='fit'):
        prototype_votes(pixel, eye[:1], eye[1:], 1, torch.zeros(1), torch.ones(1))


def test_reclassify_passes_each_class_s_sizes():
    eye = torch.eye(3)
    fg = torch.zeros(2, 2, 3)
    bg = torch.zeros(2, 2, 3)
    fg[1] = torch.stack([eye[0], eye[1]])
    bg[1] = torch.stack([eye[2], -eye[0]])
    counts = torch.tensor([0, 2])
    features = _features([eye[0] + eye[2]])  # top 2: fg e0 and bg e2
    plain = reclassify(features, torch.tensor([1]), fg, bg, counts, counts, 2)
    assert plain.item() == 0.5
    fg_sizes = torch.tensor([[0, 0], [9, 1]])
    bg_sizes = torch.tensor([[0, 0], [1, 1]])
    sized = reclassify(
        features, torch.tensor([1]), fg, bg, counts, counts, 2, fg_sizes, bg_sizes
    )
    assert sized.item() == pytest.approx(0.9 / 1.4)


def test_score_maps_for_irn_s_walk():
    """Two classes, three pixels: shares (0.8, 0.3), (0.6, 0.7), (0.4, 0.5)."""
    share = torch.tensor([[[0.8, 0.6, 0.4]], [[0.3, 0.7, 0.5]]])
    # the reclassification map as 0 / 1 maps: pixel 0 class 0, pixel 1 class
    # 1 (the higher share), pixel 2 background (no majority; 0.5 is a tie)
    assert score_maps(share).tolist() == [[[1, 0, 0]], [[0, 1, 0]]]
    assert score_maps(share, 'decision').tolist() == score_maps(share).tolist()
    torch.testing.assert_close(
        score_maps(share, 'margin'),
        torch.tensor([[[0.6, 0.2, 0.0]], [[0.0, 0.4, 0.0]]]),
    )
    assert torch.equal(score_maps(share, 'share'), share)
    assert score_maps(torch.zeros(0, 2, 2)).shape == (0, 2, 2)
    with pytest.raises(ValueError, match='kind'):
        score_maps(share, 'cam')
