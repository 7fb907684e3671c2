"""The PASCAL VOC colour map shared by datasets, tools and label PNGs."""

from __future__ import annotations


def voc_palette(num_colors: int = 256) -> list[list[int]]:
    """Colours of the PASCAL VOC colour map.

    The map spreads the bits of each index over the high bits of the three
    channels: index 1 is dark red, index 255 (ignore) is (224, 224, 192).

    Args:
        num_colors (int): How many colours to return. Default: 256.

    Returns:
        list[list[int]]: ``num_colors`` RGB triples.
    """
    palette = []
    for index in range(num_colors):
        rgb = [0, 0, 0]
        value = index
        for bit in range(7, -1, -1):
            for channel in range(3):
                rgb[channel] |= ((value >> channel) & 1) << bit
            value >>= 3
        palette.append(rgb)
    return palette
