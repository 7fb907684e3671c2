"""PtReCl's reclassification: the top-m prototypes vote foreground or not."""

import pytest
import torch

from mmwsss.ops.reclassify import prototype_votes, reclassify


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
