"""OAA: crops mapped back to the image, accumulation by element-wise maximum."""

import numpy as np
import pytest
import torch

from mmwsss.ops.oaa import AttentionAccumulator, crop_attention_to_image


def test_crop_goes_back_where_it_was_cut():
    # an 8x8 image resized to 16x16, a 4x6 crop at (2, 8) of it
    attention = torch.zeros(4, 6)
    attention[0, 0] = 1.0  # the crop's top-left pixel: (2, 8) of the resized image
    out = crop_attention_to_image(attention, (2, 6, 8, 14), (16, 16), (8, 8), stride=1)
    assert out.shape == (8, 8)
    y, x = np.unravel_index(out.argmax(), out.shape)
    assert (y, x) == (1, 4)  # (2, 8) / 2 in the original image
    assert out[:, :4].max() == 0  # the crop never reached the left half
    # flipped horizontally before cropping: the pixel was at column 15 - 8 = 7
    flipped = crop_attention_to_image(
        attention, (2, 6, 8, 14), (16, 16), (8, 8), True, 'horizontal', stride=1
    )
    y, x = np.unravel_index(flipped.argmax(), flipped.shape)
    assert (y, x) == (1, 3)
    with pytest.raises(ValueError, match='leaves'):
        crop_attention_to_image(attention, (14, 18, 0, 6), (16, 16), (8, 8))
    with pytest.raises(ValueError, match='direction'):
        crop_attention_to_image(attention, (2, 6, 8, 14), (16, 16), (8, 8), True, 'up')
    # the stored grid at stride 4 of the original image
    assert crop_attention_to_image(
        attention, (2, 6, 8, 14), (16, 16), (9, 8)
    ).shape == (
        3,
        2,
    )


def test_accumulation_is_the_elementwise_maximum_whatever_the_order():
    rng = np.random.default_rng(0)
    epochs = {
        (image, cls): [rng.random((3, 4)).astype(np.float32) for _ in range(4)]
        for image in ('a', 'b', 'c')
        for cls in (1, 5)
    }
    updates = [(k, m) for k, maps in epochs.items() for m in maps]
    results = []
    for seed in range(3):  # shuffled update orders
        order = np.random.default_rng(seed).permutation(len(updates))
        acc = AttentionAccumulator()
        for i in order:
            (image, cls), attention = updates[i]
            acc.update(image, cls, attention)
        results.append(acc)
    for (image, cls), maps in epochs.items():
        # stored in float16: rounding is monotone, so the maximum of the
        # rounded maps is the rounded maximum
        expected = np.maximum.reduce(maps).astype(np.float16)
        for acc in results:
            np.testing.assert_array_equal(acc.maps[image][cls], expected)
    # two ranks' halves merged by maximum give the one-process maps
    first, second = AttentionAccumulator(), AttentionAccumulator()
    for i, ((image, cls), attention) in enumerate(updates):
        (first if i % 2 else second).update(image, cls, attention)
    merged = AttentionAccumulator.merge([first.state(), second.state()])
    for (image, cls), maps in epochs.items():
        expected = np.maximum.reduce(maps).astype(np.float16)
        np.testing.assert_array_equal(merged.maps[image][cls], expected)
    assert merged.seen('a') and not merged.seen('z')
    with pytest.raises(ValueError, match='after'):
        merged.update('a', 1, np.zeros((2, 2)))
