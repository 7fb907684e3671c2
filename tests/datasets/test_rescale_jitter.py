"""RandomRescale (DeepLab's / IRN's scale augmentation) and ColorJitter (PSA's)."""

import numpy as np
import pytest
from mmengine.registry import DefaultScope
from PIL import Image, ImageEnhance

from mmwsss.datasets.transforms import ColorJitter, RandomRescale
from mmwsss.registry import TRANSFORMS


@pytest.fixture(autouse=True)
def mmwsss_scope():
    with DefaultScope.overwrite_default_scope('mmwsss'):
        yield


def _results(h=375, w=500, seed=0):
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
    seg = rng.integers(0, 21, size=(h, w), dtype=np.uint8)
    return dict(img=img, gt_seg_map=seg, img_shape=(h, w), seg_fields=['gt_seg_map'])


def test_rescale_is_relative_to_the_image():
    """A 500 x 375 VOC image at 0.5-1.5 gets a long side of 250-750 px, which
    RandomResize(scale=(321, 321), ratio_range=(0.5, 1.5)) cannot give."""
    np.random.seed(0)
    transform = TRANSFORMS.build(dict(type='RandomRescale', ratio_range=(0.5, 1.5)))
    longs = []
    for _ in range(200):
        out = transform(_results())
        h, w = out['img'].shape[:2]
        assert out['gt_seg_map'].shape == (h, w)
        assert out['img_shape'] == (h, w)
        assert abs(h / 375 - w / 500) < 0.01  # aspect kept
        longs.append(w)
    assert 250 <= min(longs) < 270 and 730 < max(longs) <= 750
    # the mask is resized with nearest sampling: no new values
    out = transform(_results())
    assert set(np.unique(out['gt_seg_map'])) <= set(range(21))


def test_rescale_from_a_set_of_ratios():
    np.random.seed(1)
    transform = RandomRescale(ratios=(0.5, 1.5))
    sizes = {transform(_results())['img'].shape[:2] for _ in range(20)}
    assert sizes == {(188, 250), (563, 750)}


def test_rescale_with_pillow_matches_pil_resize():
    """IRN's pil_rescale: bicubic image, nearest labels, sizes rounded."""
    transform = RandomRescale(ratio_range=(0.7, 0.7), interpolation='bicubic')
    transform_pil = RandomRescale(
        ratio_range=(0.7, 0.7), interpolation='bicubic', backend='pillow'
    )
    results = _results()
    expected_img = np.asarray(
        Image.fromarray(results['img']).resize((350, 263), Image.BICUBIC)
    )
    expected_seg = np.asarray(
        Image.fromarray(results['gt_seg_map']).resize((350, 263), Image.NEAREST)
    )
    out = transform_pil(_results())
    np.testing.assert_array_equal(out['img'], expected_img)
    np.testing.assert_array_equal(out['gt_seg_map'], expected_seg)
    # cv2 does not widen its filter when shrinking: another image
    assert not np.array_equal(transform(_results())['img'], expected_img)


@pytest.mark.parametrize(
    'kwargs',
    [dict(), dict(ratio_range=(0.5, 1.5), ratios=(1.0,)), dict(ratio_range=(1.5, 0.5))]
    + [dict(ratios=()), dict(ratios=(0.0, 1.0))],
)
def test_rescale_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        RandomRescale(**kwargs)


def test_color_jitter_matches_pil_enhancers():
    """Brightness alone: PIL's enhancer on the RGB image, BGR order kept."""
    np.random.seed(0)
    transform = ColorJitter(brightness=0.3)
    results = _results(40, 60)
    bgr = results['img'].copy()
    factor_draws = np.random.get_state()
    out = transform(results)['img']
    np.random.set_state(factor_draws)
    np.random.permutation(1)
    factor = np.random.uniform(0.7, 1.3)
    rgb = Image.fromarray(np.ascontiguousarray(bgr[..., ::-1]))
    expected = np.asarray(ImageEnhance.Brightness(rgb).enhance(factor))[..., ::-1]
    np.testing.assert_array_equal(out, expected)
    assert out.dtype == np.uint8 and out.shape == bgr.shape


def test_color_jitter_ranges_and_order():
    transform = ColorJitter(brightness=0.3, contrast=0.3, saturation=0.3, hue=0.1)
    assert transform.ranges == dict(
        brightness=(0.7, 1.3),
        contrast=(0.7, 1.3),
        saturation=(0.7, 1.3),
        hue=(-0.1, 0.1),
    )
    np.random.seed(0)
    orders = {tuple(n for n, _ in transform._random_changes()) for _ in range(50)}
    assert len(orders) > 5  # the four changes in a random order
    for _, factor in transform._random_changes():
        assert -0.1 <= factor <= 1.3
    # hue alone keeps a grey image grey; nothing at all keeps the image
    grey = dict(img=np.full((8, 8, 3), 90, np.uint8))
    np.testing.assert_array_equal(ColorJitter(hue=0.5)(grey)['img'], 90)
    img = _results(8, 8)['img']
    np.testing.assert_array_equal(ColorJitter()(dict(img=img.copy()))['img'], img)


def test_color_jitter_hue_rotates_colours():
    red = np.zeros((4, 4, 3), np.uint8)
    red[..., 2] = 255  # BGR: pure red
    np.random.seed(0)
    out = ColorJitter(hue=0.34)(dict(img=red.copy()))['img']
    assert not np.array_equal(out, red)
    assert out.max() >= 250  # the value stays, the colour turns


def test_color_jitter_bad_input():
    with pytest.raises(ValueError, match='hue'):
        ColorJitter(hue=0.6)
    with pytest.raises(ValueError, match='contrast'):
        ColorJitter(contrast=-0.1)
    with pytest.raises(TypeError, match='8-bit'):
        ColorJitter(brightness=0.1)(dict(img=np.zeros((4, 4, 3), np.float32)))
