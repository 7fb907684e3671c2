import pytest
import torch
import torch.nn.functional as F

from mmwsss.ops import cams_to_labels, max_normalize, multiscale_cam, strided_size


def test_strided_size_rounds_up():
    assert strided_size((160, 160), 4) == (40, 40)
    assert strided_size((375, 500), 4) == (94, 125)
    assert strided_size((1, 1), 16) == (1, 1)


def test_max_normalize_peaks_at_one():
    cams = torch.rand(3, 8, 9) * torch.tensor([1.0, 5.0, 0.1])[:, None, None]
    out = max_normalize(cams)
    peaks = out.flatten(1).max(1).values
    assert torch.allclose(peaks, torch.ones(3), atol=1e-3)
    assert (out >= 0).all()
    assert max_normalize(torch.zeros(0, 4, 4)).shape == (0, 4, 4)
    # an all-zero map stays zero (no division by zero)
    assert torch.equal(max_normalize(torch.zeros(1, 2, 2)), torch.zeros(1, 2, 2))


def test_cams_to_labels_hand_case():
    cams = torch.tensor([[[0.9, 0.1], [0.15, 0.4]], [[0.2, 0.05], [0.1, 0.5]]])
    keys = torch.tensor([3, 7])
    labels = cams_to_labels(cams, keys, bg_score=0.15)
    # a tie with the background (0.15) goes to background
    assert labels.tolist() == [[3, 0], [0, 7]]
    empty = cams_to_labels(torch.zeros(0, 2, 3), torch.zeros(0, dtype=torch.long), 0.1)
    assert empty.shape == (2, 3) and empty.sum() == 0


def _pixelwise_cam(x):
    # a flip-equivariant "network": per-pixel linear map of the channels, stride 2
    weight = torch.tensor([[1.0, -1.0, 0.5], [0.2, 0.3, -0.4]])
    return F.avg_pool2d(torch.einsum('kc,bchw->bkhw', weight, x), 2)


def test_multiscale_cam_single_scale_matches_direct():
    torch.manual_seed(0)
    image = torch.randn(3, 16, 12)
    (high,) = multiscale_cam(_pixelwise_cam, image, (1.0,), False, [(16, 12)])
    expected = F.interpolate(
        F.relu(_pixelwise_cam(image[None])), size=(16, 12), mode='bilinear'
    )[0]
    assert torch.allclose(high, expected, atol=1e-6)


def test_multiscale_cam_flip_and_scales():
    torch.manual_seed(0)
    image = torch.randn(3, 16, 16)
    (single,) = multiscale_cam(_pixelwise_cam, image, (1.0,), False, [(16, 16)])
    (flipped,) = multiscale_cam(_pixelwise_cam, image, (1.0,), True, [(16, 16)])
    # the toy network commutes with flipping: flip + unflip doubles the map
    assert torch.allclose(flipped, 2 * single, atol=1e-5)
    high, low = multiscale_cam(
        _pixelwise_cam, image, (1.0, 0.5, 2.0), True, [(16, 16), (4, 4)]
    )
    assert high.shape == (2, 16, 16) and low.shape == (2, 4, 4)
    assert (high >= 0).all()


@pytest.mark.parametrize('scale', [0.5, 1.5])
def test_multiscale_cam_scale_changes_input_size(scale):
    seen = []

    def fn(x):
        seen.append(tuple(x.shape[-2:]))
        return x[:, :2]

    multiscale_cam(fn, torch.zeros(3, 10, 20), (scale,), False, [(10, 20)])
    assert seen == [(round(10 * scale), round(20 * scale))]
