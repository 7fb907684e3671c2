"""Data statistics of a segmentation set in the VOC layout: how large its objects
are in feature cells, how many objects and classes an image holds, and how much of
an image's strong edges are object outlines (a set whose strong edges are mostly
outlines rewards what a dense CRF does more than VOC does).

Per image, on the grey image (PIL's ``L`` conversion, float32) and the class mask
(255 = ignore):

- Sobel magnitude ``g = hypot(sobel_rows, sobel_cols)`` (scipy's 3x3 Sobel,
  reflected border).
- Outline: a pixel whose lower or right neighbour has another class, neither of
  the two being ignore (the upper / left pixel of each pair is marked).
- Strong edges on outlines: among the valid pixels whose ``g`` reaches the
  image's 90th percentile (taken over all pixels), the share lying within 2 px
  of an outline (two dilations with the 4-neighbour cross). The set's figure is
  the mean over its images.
- Outline contrast: mean ``g`` on the outline widened by one dilation (valid
  pixels) over mean ``g`` on the valid pixels farther than 2 px from it. The
  set's figure is the median over the images that have an outline.
- Object extent: the longer side of an instance's bounding box, in cells of an
  output stride (pixels / stride); area share: the instance's pixels over the
  image's. Instances are the ids of ``SegmentationObject`` other than 0 and 255.
- Classes per image: the class ids other than 0 and 255.
"""

from __future__ import annotations

import math
import os.path as osp
from collections.abc import Sequence

import numpy as np
from PIL import Image
from scipy import ndimage as ndi

#: Share of the image's pixels counted as strong edges (the top 10% of ``g``).
STRONG_QUANTILE = 0.9
#: Distance (px, 4-neighbour dilations) within which an edge lies on an outline.
NEAR_OUTLINE = 2


def to_gray(rgb: np.ndarray) -> np.ndarray:
    """Grey values of an RGB image as PIL's ``L`` conversion gives them.

    Args:
        rgb (np.ndarray): (H, W, 3) uint8 image.

    Returns:
        np.ndarray: (H, W) float32 grey image in 0..255.
    """
    return np.asarray(Image.fromarray(rgb).convert('L'), dtype=np.float32)


def sobel_magnitude(gray: np.ndarray) -> np.ndarray:
    """Gradient magnitude of a grey image (3x3 Sobel, reflected border).

    Args:
        gray (np.ndarray): (H, W) grey image.

    Returns:
        np.ndarray: (H, W) magnitude, float32 for float32 input.
    """
    gray = np.asarray(gray, dtype=np.float32)
    return np.hypot(ndi.sobel(gray, 0), ndi.sobel(gray, 1))


def class_outline(labels: np.ndarray, ignore_index: int = 255) -> np.ndarray:
    """Pixels whose lower or right neighbour has another class.

    Args:
        labels (np.ndarray): (H, W) class mask.
        ignore_index (int): Label of pixels no outline touches. Default: 255.

    Returns:
        np.ndarray: (H, W) bool outline, marked on the upper / left pixel of
        each pair of differing valid neighbours.
    """
    lab = np.asarray(labels).astype(np.int64)
    valid = lab != ignore_index
    outline = np.zeros(lab.shape, dtype=bool)
    outline[:-1] |= (lab[:-1] != lab[1:]) & valid[:-1] & valid[1:]
    outline[:, :-1] |= (lab[:, :-1] != lab[:, 1:]) & valid[:, :-1] & valid[:, 1:]
    return outline


def edge_figures(
    gray: np.ndarray, labels: np.ndarray, ignore_index: int = 255
) -> tuple[float, float]:
    """Strong edges on outlines and outline contrast of one image.

    Args:
        gray (np.ndarray): (H, W) grey image.
        labels (np.ndarray): (H, W) class mask.
        ignore_index (int): Label of pixels left out. Default: 255.

    Returns:
        tuple[float, float]: The share (0..1) of the valid strong-edge pixels
        within 2 px of an outline (0 when there is none), and the mean Sobel
        magnitude on the widened outline over the mean farther away (NaN when
        the image has no outline or nothing lies farther away).
    """
    g = sobel_magnitude(gray)
    labels = np.asarray(labels)
    if g.shape != labels.shape:
        raise ValueError(f'image {g.shape} and mask {labels.shape} differ in size')
    valid = labels != ignore_index
    strong = g >= np.quantile(g, STRONG_QUANTILE)
    outline = class_outline(labels, ignore_index)
    near = ndi.binary_dilation(outline, iterations=NEAR_OUTLINE)
    band = ndi.binary_dilation(outline, iterations=1) & valid
    share = (strong & near & valid).sum() / max(int((strong & valid).sum()), 1)
    far = valid & ~near
    if band.any() and far.any():
        contrast = float(g[band].mean()) / max(float(g[far].mean()), 1e-6)
    else:
        contrast = float('nan')
    return float(share), contrast


def object_figures(
    instances: np.ndarray, ignore_index: int = 255
) -> tuple[list[int], list[float]]:
    """Extent (longer box side, px) and area share of each instance.

    Args:
        instances (np.ndarray): (H, W) instance ids, 0 = background.
        ignore_index (int): Id left out besides 0. Default: 255.

    Returns:
        tuple[list[int], list[float]]: Extents in pixels and area shares (0..1),
        in increasing id order.
    """
    instances = np.asarray(instances)
    extents, shares = [], []
    for obj_id in np.unique(instances):
        if obj_id in (0, ignore_index):
            continue
        ys, xs = np.nonzero(instances == obj_id)
        extents.append(int(max(np.ptp(ys), np.ptp(xs))) + 1)
        shares.append(len(ys) / instances.size)
    return extents, shares


def image_stats(
    gray: np.ndarray,
    labels: np.ndarray,
    instances: np.ndarray | None = None,
    ignore_index: int = 255,
) -> dict:
    """All per-image figures.

    Args:
        gray (np.ndarray): (H, W) grey image (see :func:`to_gray`).
        labels (np.ndarray): (H, W) class mask.
        instances (np.ndarray, optional): (H, W) instance ids; without them the
            object figures are left out. Default: None.
        ignore_index (int): Ignored label. Default: 255.

    Returns:
        dict: ``height``, ``width``, ``strong_on_outline`` (0..1),
        ``outline_contrast``, ``num_classes``, and ``num_objects``,
        ``extents`` (px) and ``area_shares`` (0..1) when instances are given
        (else None, [], []).
    """
    share, contrast = edge_figures(gray, labels, ignore_index)
    classes = [c for c in np.unique(labels) if c not in (0, ignore_index)]
    stats = dict(
        height=int(labels.shape[0]),
        width=int(labels.shape[1]),
        strong_on_outline=share,
        outline_contrast=contrast,
        num_classes=len(classes),
        num_objects=None,
        extents=[],
        area_shares=[],
    )
    if instances is not None:
        extents, shares = object_figures(instances, ignore_index)
        stats.update(num_objects=len(extents), extents=extents, area_shares=shares)
    return stats


def read_sample(
    root: str, img_id: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Grey image, class mask and instance mask (None if absent) of a VOC id.

    Args:
        root (str): Folder with ``JPEGImages``, ``SegmentationClass`` and
            optionally ``SegmentationObject``.
        img_id (str): Image id.

    Returns:
        tuple: (H, W) float32 grey image, (H, W) class mask, instance mask or
        None.
    """
    with Image.open(osp.join(root, 'JPEGImages', f'{img_id}.jpg')) as img:
        gray = np.asarray(img.convert('L'), dtype=np.float32)
    with Image.open(osp.join(root, 'SegmentationClass', f'{img_id}.png')) as img:
        labels = np.asarray(img)
    obj_path = osp.join(root, 'SegmentationObject', f'{img_id}.png')
    instances = None
    if osp.isfile(obj_path):
        with Image.open(obj_path) as img:
            instances = np.asarray(img)
    return gray, labels, instances


def split_file_ids(root: str, split: str = 'train') -> list[str]:
    """Ids listed in ``ImageSets/Segmentation/{split}.txt``."""
    path = osp.join(root, 'ImageSets', 'Segmentation', f'{split}.txt')
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path} not found: is {root} a VOC-layout folder?')
    with open(path, encoding='utf-8') as f:
        return [line.strip() for line in f if line.strip()]


def dataset_stats(
    root: str, split: str = 'train', max_images: int | None = None
) -> list[dict]:
    """Per-image figures (:func:`image_stats`) of a VOC-layout folder.

    Args:
        root (str): Dataset root.
        split (str): Split file name under ``ImageSets/Segmentation``.
            Default: 'train'.
        max_images (int, optional): Only the first ones. Default: None (all).

    Returns:
        list[dict]: One dict per image, with its ``id``.
    """
    ids = split_file_ids(root, split)
    if max_images is not None:
        ids = ids[:max_images]
    if not ids:
        raise ValueError(f'{root}: split {split!r} lists no images')
    return [dict(id=i, **image_stats(*read_sample(root, i))) for i in ids]


def summarize_stats(per_image: Sequence[dict], strides: Sequence[int] = (16,)) -> dict:
    """The set's figures from per-image ones.

    Args:
        per_image (Sequence[dict]): Output of :func:`image_stats` per image.
        strides (Sequence[int]): Output strides at which to give the feature
            grid and the object extents in cells. Default: (16,).

    Returns:
        dict: ``num_images``; ``image_size`` (median height, width);
        ``grid`` and ``object_cells`` keyed by the stride as a string (the
        median image's feature grid, ``ceil(side / stride)``; the median and
        10th percentile extent in cells); ``objects_per_image`` (mean over
        images with instance masks, None without); ``classes_per_image`` (mean);
        ``area_share_median`` (%); ``strong_edges_on_outlines`` (%, mean over
        images); ``outline_contrast_median``.
    """
    if not per_image:
        raise ValueError('no images to summarize')
    heights = [s['height'] for s in per_image]
    widths = [s['width'] for s in per_image]
    size = [float(np.median(heights)), float(np.median(widths))]
    extents = np.array([e for s in per_image for e in s['extents']], dtype=np.float64)
    shares = [a for s in per_image for a in s['area_shares']]
    objects = [s['num_objects'] for s in per_image if s['num_objects'] is not None]
    contrasts = np.array([s['outline_contrast'] for s in per_image], dtype=np.float64)
    object_cells = {}
    for stride in strides:
        if len(extents):
            cells = extents / stride
            object_cells[str(stride)] = dict(
                median=float(np.median(cells)), p10=float(np.percentile(cells, 10))
            )
        else:
            object_cells[str(stride)] = dict(median=None, p10=None)
    return dict(
        num_images=len(per_image),
        image_size=size,
        grid={str(s): [math.ceil(v / s) for v in size] for s in strides},
        object_cells=object_cells,
        objects_per_image=float(np.mean(objects)) if objects else None,
        classes_per_image=float(np.mean([s['num_classes'] for s in per_image])),
        area_share_median=100 * float(np.median(shares)) if shares else None,
        strong_edges_on_outlines=100
        * float(np.mean([s['strong_on_outline'] for s in per_image])),
        outline_contrast_median=float(np.nanmedian(contrasts))
        if not np.isnan(contrasts).all()
        else None,
    )
