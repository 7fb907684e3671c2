import numpy as np
import pytest

from mmwsss.ops.crf import (
    CRF_PRESETS,
    DEEPLAB_TEST_CRF,
    IRN_LABEL_CRF,
    PSA_CRF,
    crf_params,
    dense_crf,
    dense_crf_labels,
)

H, W, EDGE = 24, 32, 16


def _two_region_image():
    # left half dark red, right half light blue: the colour edge is at column 16
    image = np.zeros((H, W, 3), np.uint8)
    image[:, :EDGE] = (200, 20, 20)
    image[:, EDGE:] = (20, 20, 200)
    return image


def _shifted_blurry_probs(shift=5):
    # class 0 believed left of column 16 + shift, with a soft ramp across it
    cols = np.arange(W, dtype=np.float32)
    p_left = 1 / (1 + np.exp((cols - (EDGE + shift)) / 2.0))
    p_left = np.broadcast_to(0.2 + 0.6 * p_left, (H, W))
    return np.stack([p_left, 1 - p_left]).astype(np.float32)


def test_presets_hold_the_published_values():
    assert set(CRF_PRESETS) == {'psa', 'irn_label', 'deeplab_test'}
    assert PSA_CRF == dict(
        gauss_sxy=3, gauss_compat=3, bi_sxy=80, bi_srgb=13, bi_compat=10, iters=10
    )
    assert IRN_LABEL_CRF == dict(
        gauss_sxy=3,
        gauss_compat=3,
        bi_sxy=50,
        bi_srgb=5,
        bi_compat=10,
        iters=10,
        gt_prob=0.7,
    )
    assert DEEPLAB_TEST_CRF == dict(
        gauss_sxy=1, gauss_compat=3, bi_sxy=67, bi_srgb=3, bi_compat=4, iters=10
    )
    assert crf_params('psa', iters=5)['iters'] == 5
    with pytest.raises(KeyError, match='nope'):
        crf_params('nope')
    with pytest.raises(KeyError, match='sigma'):
        crf_params('psa', sigma=1)


@pytest.mark.parametrize('preset', sorted(CRF_PRESETS))
def test_dense_crf_snaps_to_the_colour_edge(preset):
    image = _two_region_image()
    probs = _shifted_blurry_probs()
    before = probs.argmax(0)
    # the unary alone puts the boundary 5 columns right of the colour edge
    assert (before[:, EDGE : EDGE + 4] == 0).all()
    out = dense_crf(image, probs * 3, preset=preset)  # unnormalised on purpose
    assert out.shape == (2, H, W) and out.dtype == np.float32
    np.testing.assert_allclose(out.sum(0), 1, atol=1e-4)
    labels = out.argmax(0)
    assert (labels[:, :EDGE] == 0).all()
    assert (labels[:, EDGE:] == 1).all()


def test_dense_crf_labels_snaps_to_the_colour_edge():
    image = _two_region_image()
    labels = np.zeros((H, W), np.int64)
    labels[:, EDGE + 3 :] = 2  # boundary 3 columns off, label 1 unused
    out = dense_crf_labels(image, labels, 3)
    assert out.shape == (H, W) and np.issubdtype(out.dtype, np.integer)
    assert (out[:, :EDGE] == 0).all() and (out[:, EDGE:] == 2).all()
    # a single label needs no inference
    assert (dense_crf_labels(image, np.zeros((H, W), np.uint8), 1) == 0).all()


def test_size_and_type_errors():
    image = _two_region_image()
    with pytest.raises(ValueError, match=r'\(24, 32\).*\(24, 31\)'):
        dense_crf(image, np.ones((2, H, W - 1), np.float32))
    with pytest.raises(ValueError, match=r'\(24, 32\).*\(20, 32\)'):
        dense_crf_labels(image, np.zeros((20, W), np.int64), 2)
    with pytest.raises(ValueError, match='uint8'):
        dense_crf(image.astype(np.float32), np.ones((2, H, W)))
    with pytest.raises(ValueError, match='RGB'):
        dense_crf(image[..., :1], np.ones((2, H, W)))
    with pytest.raises(ValueError, match='non-negative'):
        dense_crf(image, -np.ones((2, H, W)))
    with pytest.raises(ValueError, match='integers'):
        dense_crf_labels(image, np.zeros((H, W), np.float32), 2)
    with pytest.raises(ValueError, match=r'0\.\.1'):
        dense_crf_labels(image, np.full((H, W), 2), 2)


def test_non_contiguous_and_read_only_inputs_are_accepted():
    flipped = np.ascontiguousarray(_two_region_image()[:, ::-1])[:, ::-1]
    probs = np.asfortranarray(_shifted_blurry_probs())
    assert not flipped.flags.c_contiguous and not probs.flags.c_contiguous
    assert dense_crf(flipped, probs, iters=2).shape == (2, H, W)
    read_only = _two_region_image()
    read_only.flags.writeable = False  # as np.asarray(PIL image) gives
    assert dense_crf(read_only, probs, iters=2).shape == (2, H, W)
    labels = np.zeros((H, W), np.int64)
    labels.flags.writeable = False
    assert dense_crf_labels(read_only, labels, 2).shape == (H, W)
