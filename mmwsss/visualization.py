"""Pictures of stage outputs: label overlays, CAM heatmaps, image grids.

Pure numpy + matplotlib: every function takes arrays (RGB images, label maps,
CAMs) and returns arrays or writes a PNG, so tools and the pipeline report
share them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .datasets.palette import voc_palette

IGNORE_INDEX = 255
#: Overlay colours that replace achromatic palette entries: VOC's colour of
#: class 7 (car; FashionPaste's pullover) is mid grey, invisible over the
#: greyed image.
OVERLAY_SUBSTITUTES = {7: (255, 190, 0)}


def overlay_palette() -> np.ndarray:
    """The VOC palette (256 x 3, float32) with :data:`OVERLAY_SUBSTITUTES`."""
    palette = np.asarray(voc_palette(256), dtype=np.float32)
    for index, colour in OVERLAY_SUBSTITUTES.items():
        palette[index] = colour
    return palette


def overlay_labels(
    image: np.ndarray, labels: np.ndarray, alpha: float = 0.6
) -> np.ndarray:
    """Blend a label map's VOC colours into a greyed copy of an image.

    The image is greyed so that the label colours read unambiguously;
    background (0) shows the grey image, 255 (unsure) the VOC ignore colour,
    a class whose VOC colour is grey a vivid substitute
    (:data:`OVERLAY_SUBSTITUTES`).

    Args:
        image (np.ndarray): (H, W, 3) uint8 RGB image.
        labels (np.ndarray): (H, W) integer labels, 255 = unsure.
        alpha (float): Weight of the label colour. Default: 0.6.

    Returns:
        np.ndarray: (H, W, 3) uint8 RGB image.

    Raises:
        ValueError: If the sizes disagree.
    """
    image = np.asarray(image)
    labels = np.asarray(labels)
    if image.shape[:2] != labels.shape:
        raise ValueError(
            f'image size {image.shape[:2]} differs from the label size {labels.shape}'
        )
    colours = overlay_palette()[labels.astype(np.int64)]
    grey = np.repeat(image.astype(np.float32).mean(axis=2, keepdims=True), 3, axis=2)
    blended = (1 - alpha) * grey + alpha * colours
    out = np.where((labels == 0)[..., None], grey, blended)
    return out.round().clip(0, 255).astype(np.uint8)


def instance_colours(num: int) -> np.ndarray:
    """``num`` distinct RGB colours (uint8, (num, 3)) for instance overlays:
    matplotlib's qualitative ``tab20`` cycle without its two greys (invisible
    on the greyed image, as VOC's class 7 was), so neighbouring instances of
    one class differ."""
    from matplotlib import colormaps

    table = colormaps['tab20'](np.arange(20))[:, :3]
    # the saturated half first; 14 / 15 are tab20's greys
    order = [i for i in np.r_[0:20:2, 1:20:2] if i not in (14, 15)]
    return (table[order][np.arange(num) % len(order)] * 255).round().astype(np.uint8)


def overlay_instances(
    image: np.ndarray,
    masks: np.ndarray,
    alpha: float = 0.55,
    outline: bool = True,
) -> np.ndarray:
    """Each instance mask in its own colour over a greyed copy of an image.

    Instances are painted in order, so a later one covers an earlier one where
    they overlap; with ``outline`` each mask's border (its pixels with a
    4-neighbour outside it) is drawn in the full colour.

    Args:
        image (np.ndarray): (H, W, 3) uint8 RGB image.
        masks (np.ndarray): (N, H, W) bool instance masks (N may be 0).
        alpha (float): Weight of the instance colour inside a mask.
            Default: 0.55.
        outline (bool): Draw each mask's border opaque. Default: True.

    Returns:
        np.ndarray: (H, W, 3) uint8 RGB image.

    Raises:
        ValueError: If the sizes disagree.
    """
    image = np.asarray(image)
    masks = np.asarray(masks, dtype=bool)
    if masks.ndim != 3 or masks.shape[1:] != image.shape[:2]:
        raise ValueError(
            f'masks must be (N, H, W) with (H, W) = {image.shape[:2]}, got '
            f'{masks.shape}'
        )
    out = np.repeat(image.astype(np.float32).mean(axis=2, keepdims=True), 3, axis=2)
    for mask, colour in zip(masks, instance_colours(len(masks)).astype(np.float32)):
        out[mask] = (1 - alpha) * out[mask] + alpha * colour
        if outline:
            padded = np.pad(mask, 1, constant_values=False)
            inner = (
                padded[:-2, 1:-1]
                & padded[2:, 1:-1]
                & padded[1:-1, :-2]
                & padded[1:-1, 2:]
            )
            out[mask & ~inner] = colour
    return out.round().clip(0, 255).astype(np.uint8)


def cam_heatmap(image: np.ndarray, cam: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """A CAM in [0, 1] as a jet heatmap over a greyed image.

    Args:
        image (np.ndarray): (H, W, 3) uint8 RGB image.
        cam (np.ndarray): (H, W) activation, clipped to [0, 1].
        alpha (float): Weight of the heatmap. Default: 0.5.

    Returns:
        np.ndarray: (H, W, 3) uint8 RGB image.
    """
    from matplotlib import colormaps

    image = np.asarray(image)
    cam = np.asarray(cam, dtype=np.float32)
    if image.shape[:2] != cam.shape:
        raise ValueError(
            f'image size {image.shape[:2]} differs from the CAM size {cam.shape}'
        )
    heat = colormaps['jet'](np.clip(cam, 0, 1))[..., :3] * 255
    grey = image.astype(np.float32).mean(axis=2, keepdims=True)
    out = (1 - alpha) * grey + alpha * heat
    return out.round().clip(0, 255).astype(np.uint8)


def save_grid(
    rows: Sequence[Sequence[np.ndarray]],
    path: str,
    col_titles: Sequence[str] | None = None,
    row_titles: Sequence[str] | None = None,
    cell_inches: float = 1.8,
) -> None:
    """Write a grid of RGB images (rows of equal length) as one PNG.

    Args:
        rows (Sequence[Sequence[np.ndarray]]): ``rows[r][c]`` is an (H, W, 3)
            uint8 image or an ``(image, title)`` pair; ``None`` leaves a cell
            empty.
        path (str): Output PNG.
        col_titles (Sequence[str], optional): A title per column.
        row_titles (Sequence[str], optional): A label per row.
        cell_inches (float): Size of a cell. Default: 1.8.
    """
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    if not rows or not rows[0]:
        raise ValueError('save_grid needs at least one image')
    num_cols = len(rows[0])
    if any(len(row) != num_cols for row in rows):
        raise ValueError('every row of the grid needs the same number of cells')
    fig, axes = plt.subplots(
        len(rows),
        num_cols,
        figsize=(cell_inches * num_cols, cell_inches * len(rows)),
        squeeze=False,
    )
    for r, row in enumerate(rows):
        for c, cell in enumerate(row):
            ax = axes[r][c]
            ax.set_xticks([])
            ax.set_yticks([])
            if isinstance(cell, tuple):
                cell, title = cell
                ax.set_xlabel(title, fontsize=7)
            if cell is not None:
                ax.imshow(cell)
            else:
                ax.axis('off')
            if r == 0 and col_titles:
                ax.set_title(col_titles[c], fontsize=8)
            if c == 0 and row_titles:
                ax.set_ylabel(row_titles[r], fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def save_bar_chart(
    names: Sequence[str], values: Sequence[float], path: str, ylabel: str = 'mIoU (%)'
) -> None:
    """Write a bar chart of one value per name (e.g. mIoU per stage) as PNG."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(1.2 * len(names) + 2, 3.2))
    bars = ax.bar(range(len(names)), values, color='#4c72b0')
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels(names, rotation=20, ha='right', fontsize=8)
    ax.set_ylabel(ylabel)
    ax.set_ylim(0, max(100.0, *values) if values else 100.0)
    for bar, value in zip(bars, values):
        ax.text(
            bar.get_x() + bar.get_width() / 2,
            bar.get_height() + 1,
            f'{value:.1f}',
            ha='center',
            fontsize=8,
        )
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
