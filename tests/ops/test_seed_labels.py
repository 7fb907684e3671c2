import numpy as np
import pytest

from mmwsss.ops.seed_labels import (
    cam_seed_labels,
    crf_alpha_seed_labels,
    crf_seed_labels,
    ir_labels,
    psa_labels,
)

H, BAND = 12, 10
COLOURS = [(220, 30, 30), (30, 220, 30), (30, 30, 220), (128, 128, 128)]


def _case():
    """Four flat colour bands: A class 3 sure, B class 7 sure, C class 3 weak
    (0.12: above IRN's bg threshold, below its fg threshold), D no activation."""
    image = np.zeros((H, 4 * BAND, 3), np.uint8)
    cams = np.zeros((2, H, 4 * BAND), np.float32)
    for band, colour in enumerate(COLOURS):
        image[:, band * BAND : (band + 1) * BAND] = colour
    cams[0, :, 0:BAND] = 0.9
    cams[1, :, BAND : 2 * BAND] = 0.9
    cams[0, :, 2 * BAND : 3 * BAND] = 0.12
    keys = np.array([3, 7], np.int16)
    return image, cams, keys


def _bands(labels):
    # every band must be uniform; return its value
    values = []
    for band in range(4):
        part = labels[:, band * BAND : (band + 1) * BAND]
        assert (part == part[0, 0]).all(), part
        values.append(int(part[0, 0]))
    return values


@pytest.mark.parametrize('fn', [ir_labels, psa_labels])
def test_confidence_labels_hand_case(fn):
    image, cams, keys = _case()
    labels = fn(image, cams, keys)
    assert labels.dtype == np.uint8 and labels.shape == (H, 4 * BAND)
    # confident fg keeps its class, weak evidence is unsure, no evidence is bg
    assert _bands(labels) == [3, 7, 255, 0]


def test_crf_seed_labels_hand_case():
    image, cams, keys = _case()
    labels = crf_seed_labels(image, cams, keys, bg_score=0.15)
    assert labels.dtype == np.uint8
    assert _bands(labels) == [3, 7, 0, 0]
    # a lower background score turns the weak band into its class
    assert _bands(crf_seed_labels(image, cams, keys, bg_score=0.05)) == [3, 7, 3, 0]


def test_crf_alpha_seed_labels_hand_case():
    image, cams, keys = _case()
    # alpha 2: the weak band's background (1 - 0.12)^2 = 0.77 > 0.12
    assert _bands(crf_alpha_seed_labels(image, cams, keys, alpha=2.0)) == [3, 7, 0, 0]
    # alpha 40: 0.88^40 = 0.006 < 0.12, the weak band keeps its class
    assert _bands(crf_alpha_seed_labels(image, cams, keys, alpha=40.0)) == [3, 7, 3, 0]
    # no pairwise terms: the argmax of [(1 - max)^alpha, cams] pixel by pixel,
    # a single pixel of 0.5 flips between alpha 0.9 (bg 0.54) and 1.1 (bg 0.47)
    unary = dict(
        gauss_sxy=3, gauss_compat=0, bi_sxy=50, bi_srgb=13, bi_compat=0, iters=1
    )
    cams[1, 5, 35] = 0.5
    low = crf_alpha_seed_labels(image, cams, keys, alpha=0.9, crf_preset=unary)
    high = crf_alpha_seed_labels(image, cams, keys, alpha=1.1, crf_preset=unary)
    assert low[5, 35] == 0 and high[5, 35] == 7


def test_cam_seed_labels_hand_case():
    image, cams, keys = _case()
    labels = cam_seed_labels(image, cams, keys, bg_score=0.15)
    assert labels.dtype == np.uint8
    assert _bands(labels) == [3, 7, 0, 0]
    assert _bands(cam_seed_labels(image, cams, keys, bg_score=0.1)) == [3, 7, 3, 0]
    # no CRF: a single strong pixel keeps its class inside the background band
    cams[1, 5, 35] = 0.5
    assert cam_seed_labels(image, cams, keys)[5, 35] == 7
    with pytest.raises(ValueError, match='image size'):
        cam_seed_labels(image[:, :-1], cams, keys)


@pytest.mark.parametrize(
    'fn',
    [ir_labels, psa_labels, crf_seed_labels, crf_alpha_seed_labels, cam_seed_labels],
)
def test_image_without_classes_is_background(fn):
    image = _case()[0]
    labels = fn(image, np.zeros((0, H, 4 * BAND), np.float32), np.zeros(0, np.int16))
    assert labels.shape == (H, 4 * BAND) and (labels == 0).all()


def test_cams_and_keys_must_agree():
    image, cams, keys = _case()
    with pytest.raises(ValueError, match='2 CAMs but 1 keys'):
        ir_labels(image, cams, keys[:1])
    with pytest.raises(ValueError, match='keys must be foreground'):
        psa_labels(image, cams, np.array([0, 7]))
