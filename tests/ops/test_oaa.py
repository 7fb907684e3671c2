"""OAA: whole-image attention on the image's grid, min-max normalisation,
accumulation by element-wise maximum, OAA+'s targets and loss."""

import math

import numpy as np
import pytest
import torch

from mmwsss.ops.oaa import (
    attention_targets,
    attention_to_image,
    check_whole_image,
    fuse_attention,
    fuse_attention_maps,
    integral_attention_loss,
    min_max_normalize,
)


def test_attention_goes_back_onto_the_image_grid():
    # an 8x8 image resized to 16x16: its pixel (2, 9) lit
    attention = torch.zeros(16, 16)
    attention[2:4, 8:10] = 1.0
    out = attention_to_image(attention, (8, 8), stride=1)
    assert out.shape == (8, 8) and out.dtype == np.float32
    y, x = np.unravel_index(out.argmax(), out.shape)
    assert (y, x) == (1, 4)
    # flipped horizontally: the input's column 8-9 was the image's 6-7
    flipped = attention_to_image(attention, (8, 8), True, 'horizontal', stride=1)
    y, x = np.unravel_index(flipped.argmax(), flipped.shape)
    assert (y, x) == (1, 3)
    vertical = attention_to_image(attention, (8, 8), True, 'vertical', stride=1)
    assert np.unravel_index(vertical.argmax(), (8, 8)) == (6, 4)
    with pytest.raises(ValueError, match='direction'):
        attention_to_image(attention, (8, 8), True, 'up')
    # the stored grid at stride 4 of the original image (rounded up)
    assert attention_to_image(attention, (9, 8)).shape == (3, 2)


def test_a_cropped_input_is_refused():
    whole = dict(ori_shape=(100, 80), img_shape=(200, 160), scale_factor=(2.0, 2.0))
    check_whole_image(whole)
    check_whole_image(dict(ori_shape=(100, 80), img_shape=(100, 80)))  # no resize
    # keep-ratio resizes round the size: within a pixel
    check_whole_image(
        dict(ori_shape=(3, 7), img_shape=(5, 11), scale_factor=(11 / 7, 5 / 3))
    )
    cropped = dict(whole, img_shape=(160, 160), img_path='a.jpg')
    with pytest.raises(ValueError, match='a.jpg.*cropped.*remove the crop'):
        check_whole_image(cropped)
    with pytest.raises(ValueError, match='cropped'):
        check_whole_image(dict(ori_shape=(100, 80), img_shape=(64, 64)))


def test_min_max_normalization_by_hand():
    maps = torch.tensor([[[1.0, 3.0], [2.0, 5.0]], [[0.5, 0.5], [0.5, 0.5]]])
    out = min_max_normalize(maps)
    expected = torch.tensor([[[0.0, 0.5], [0.25, 1.0]], [[0.0, 0.0], [0.0, 0.0]]])
    torch.testing.assert_close(out, expected, atol=1e-6, rtol=0)
    # a map that never reaches zero is stretched from its minimum, not its max
    assert min_max_normalize(torch.tensor([[2.0, 4.0]]))[0, 0] == 0
    assert min_max_normalize(torch.zeros(0, 3, 3)).shape == (0, 3, 3)


def test_fusion_is_the_elementwise_maximum_whatever_the_order():
    rng = np.random.default_rng(0)
    epochs = {
        (image, cls): [rng.random((3, 4)).astype(np.float32) for _ in range(4)]
        for image in ('a', 'b', 'c')
        for cls in (1, 5)
    }
    updates = [(k, m) for k, maps in epochs.items() for m in maps]
    for seed in range(3):  # shuffled update orders
        order = np.random.default_rng(seed).permutation(len(updates))
        fused = {}
        for i in order:
            key, attention = updates[i]
            fused[key] = fuse_attention(fused.get(key), attention)
        for key, maps in epochs.items():
            # stored in float16: rounding is monotone, so the maximum of the
            # rounded maps is the rounded maximum
            expected = np.maximum.reduce(maps).astype(np.float16)
            assert fused[key].dtype == np.float16
            np.testing.assert_array_equal(fused[key], expected)
    # two ranks' maps of an image merged class by class give the one-process maps
    first, second = {}, {}
    for i, ((image, cls), attention) in enumerate(updates):
        if image == 'a':
            half = first if i % 2 else second
            half[cls] = fuse_attention(half.get(cls), attention)
    merged = fuse_attention_maps(first, second)
    for cls in (1, 5):
        expected = np.maximum.reduce(epochs['a', cls]).astype(np.float16)
        np.testing.assert_array_equal(merged[cls], expected)
    alone = fuse_attention_maps({}, {3: first[1]})  # a class of one rank only
    assert list(alone) == [3] and np.array_equal(alone[3], first[1])
    with pytest.raises(ValueError, match='after'):
        fuse_attention(merged[1], np.zeros((2, 2)))


def test_targets_follow_the_resize_and_the_flip():
    # a 4x2 image's map of class 2 (of 3), lit in its left column; resized
    # to 8x4, flipped horizontally, padded to 10x6
    maps = torch.tensor([[[1.0, 0.0]] * 4])
    targets, valid = attention_targets(
        maps, torch.tensor([2]), 3, (8, 4), (10, 6), True, 'horizontal'
    )
    assert targets.shape == (3, 10, 6) and valid.shape == (10, 6)
    assert targets[0].abs().sum() == 0 and targets[2].abs().sum() == 0
    assert valid[:8, :4].all() and not valid[8:].any() and not valid[:, 4:].any()
    lit = targets[1, :8, :4]
    # flipped: the lit column is now on the right
    assert (lit[:, 3] == 1).all() and (lit[:, 0] == 0).all()
    assert targets[1, 8:].abs().sum() == 0 and targets[1, :, 4:].abs().sum() == 0
    # an image without classes: all-zero targets
    empty, _ = attention_targets(
        torch.zeros(0, 4, 2), torch.zeros(0, dtype=torch.long), 3, (8, 4), (8, 4)
    )
    assert empty.abs().sum() == 0


def test_integral_attention_loss_by_hand():
    # one image, one class, 2x2 map: targets 0.5 and 1 (positive), 0 and
    # 1/1000 (negative: under one 8-bit level); one padding pixel
    logits = torch.tensor([[[[0.0, 1.0], [-1.0, 2.0]]]])
    targets = torch.tensor([[[[0.5, 1.0], [0.0, 0.001]]]])
    sp = torch.nn.functional.softplus
    pos = (0.5 * sp(torch.tensor(-0.0)) + 1.0 * sp(torch.tensor(-1.0))) / 2
    neg = (sp(torch.tensor(-1.0)) + sp(torch.tensor(2.0))) / 2
    loss = integral_attention_loss(logits, targets)
    torch.testing.assert_close(loss, pos + neg)
    assert math.isclose(
        float(pos + neg),
        (0.5 * math.log(2) + math.log(1 + math.exp(-1))) / 2
        + (math.log(1 + math.exp(-1)) + math.log(1 + math.exp(2))) / 2,
        rel_tol=1e-6,
    )
    # the padding pixel (the last one) does not count
    valid = torch.tensor([[[True, True], [True, False]]])
    only = integral_attention_loss(logits, targets, valid)
    torch.testing.assert_close(only, pos + sp(torch.tensor(-1.0)))
    # the batch mean of per-image losses; an image without positives has
    # only its negative term
    batch = integral_attention_loss(
        torch.cat([logits, logits]), torch.cat([targets, torch.zeros_like(targets)])
    )
    all_neg = sp(logits).mean()
    torch.testing.assert_close(batch, ((pos + neg) + all_neg) / 2)
    # gradients pull positives up and push negatives down
    x = logits.clone().requires_grad_()
    integral_attention_loss(x, targets).backward()
    assert x.grad[0, 0, 0, 1] < 0 and x.grad[0, 0, 1, 1] > 0
    with pytest.raises(ValueError, match='differ'):
        integral_attention_loss(logits, targets[..., :1])
