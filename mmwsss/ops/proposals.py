"""Class-agnostic object proposals without learning (selective search style).

WISE (Laradji et al., BMVC 2019) picks, for each class peak, the best
class-agnostic proposal that contains it; the papers used MCG / COB, and
selective search (Uijlings et al., IJCV 2013) where no learned proposals are
available. OpenCV's selective search lives in opencv-contrib, which cannot be
installed beside mmcv's opencv-python (both provide ``cv2``), so this module
builds it from scikit-image's graph segmentation (Felzenszwalb & Huttenlocher)
and its own hierarchical grouping:

1. initial regions: ``skimage.segmentation.felzenszwalb`` at each ``scale``;
2. grouping: repeatedly merge the most similar pair of adjacent regions,
   similarity = colour (histogram intersection, 25 bins per channel) + size
   (small regions merge first) + fill (regions that fill their joint box),
   the measures of selective search (its texture term is left out); every
   region of the hierarchy, initial and merged, is a proposal;
3. objectness: how much a region's colours differ from those of a ring around
   it (1 - histogram intersection; the colour-contrast cue of Alexe et al.,
   TPAMI 2012), so a proposal that follows an object's outline scores high and
   one that cuts through an object or a uniform background scores low.
"""

from __future__ import annotations

import heapq

import numpy as np

BINS = 25


def _colour_histogram(pixels: np.ndarray) -> np.ndarray:
    """L1-normalised concatenated per-channel histograms of ``(n, 3)`` uint8."""
    if len(pixels) == 0:
        return np.zeros(3 * BINS)
    pixels = pixels.astype(np.int64)
    hist = np.concatenate(
        [np.bincount(pixels[:, c] * BINS // 256, minlength=BINS) for c in range(3)]
    ).astype(np.float64)
    return hist / hist.sum()


def _adjacent_pairs(segments: np.ndarray) -> set[tuple[int, int]]:
    """Pairs of 4-connected neighbouring segment ids (smaller id first)."""
    pairs = set()
    for a, b in (
        (segments[:, :-1], segments[:, 1:]),
        (segments[:-1, :], segments[1:, :]),
    ):
        differ = a != b
        lo = np.minimum(a[differ], b[differ])
        hi = np.maximum(a[differ], b[differ])
        pairs.update(zip(lo.tolist(), hi.tolist()))
    return pairs


def hierarchical_grouping(image: np.ndarray, segments: np.ndarray) -> list[list[int]]:
    """Selective search's greedy grouping of ``segments``.

    Args:
        image (np.ndarray): ``(H, W, 3)`` uint8.
        segments (np.ndarray): ``(H, W)`` initial region ids (0..n-1).

    Returns:
        list[list[int]]: Every region of the hierarchy as the initial region
        ids it covers: the n initial regions, then one per merge (n - 1 merges
        for a connected image), the whole image last.
    """
    h, w = segments.shape
    size_image = float(h * w)
    ids = np.unique(segments)
    if not np.array_equal(ids, np.arange(len(ids))):
        _, segments = np.unique(segments, return_inverse=True)
        segments = segments.reshape(h, w)
        ids = np.arange(segments.max() + 1)
    flat = segments.reshape(-1)
    pixels = image.reshape(-1, 3)
    order = np.argsort(flat, kind='stable')
    bounds = np.searchsorted(flat[order], np.arange(len(ids) + 1))
    ys, xs = np.divmod(order, w)
    regions = {}
    for r in ids.tolist():
        idx = order[bounds[r] : bounds[r + 1]]
        ry, rx = ys[bounds[r] : bounds[r + 1]], xs[bounds[r] : bounds[r + 1]]
        regions[r] = dict(
            size=float(len(idx)),
            hist=_colour_histogram(pixels[idx]),
            box=(ry.min(), rx.min(), ry.max(), rx.max()),
            members=[r],
        )
    neighbours = {r: set() for r in regions}
    for a, b in _adjacent_pairs(segments):
        neighbours[a].add(b)
        neighbours[b].add(a)

    def similarity(a: dict, b: dict) -> float:
        colour = np.minimum(a['hist'], b['hist']).sum()
        size = 1.0 - (a['size'] + b['size']) / size_image
        y0, x0 = min(a['box'][0], b['box'][0]), min(a['box'][1], b['box'][1])
        y1, x1 = max(a['box'][2], b['box'][2]), max(a['box'][3], b['box'][3])
        box = (y1 - y0 + 1) * (x1 - x0 + 1)
        fill = 1.0 - (box - a['size'] - b['size']) / size_image
        return float(colour + size + fill)

    heap = [
        (-similarity(regions[a], regions[b]), a, b)
        for a in neighbours
        for b in neighbours[a]
        if a < b
    ]
    heapq.heapify(heap)
    hierarchy = [list(regions[r]['members']) for r in sorted(regions)]
    next_id = len(regions)
    while heap:
        _, a, b = heapq.heappop(heap)
        if a not in regions or b not in regions:
            continue  # one of them was merged already
        ra, rb = regions.pop(a), regions.pop(b)
        size = ra['size'] + rb['size']
        merged = dict(
            size=size,
            hist=(ra['hist'] * ra['size'] + rb['hist'] * rb['size']) / size,
            box=(
                min(ra['box'][0], rb['box'][0]),
                min(ra['box'][1], rb['box'][1]),
                max(ra['box'][2], rb['box'][2]),
                max(ra['box'][3], rb['box'][3]),
            ),
            members=ra['members'] + rb['members'],
        )
        around = (neighbours.pop(a) | neighbours.pop(b)) - {a, b}
        regions[next_id] = merged
        neighbours[next_id] = around
        for n in around:
            neighbours[n] -= {a, b}
            neighbours[n].add(next_id)
            heapq.heappush(heap, (-similarity(merged, regions[n]), n, next_id))
        hierarchy.append(sorted(merged['members']))
        next_id += 1
    return hierarchy


def colour_contrast(image: np.ndarray, mask: np.ndarray, ring: int) -> float:
    """1 - intersection of the colour histograms of ``mask`` and of the ring
    of ``ring`` pixels around it (0 when the ring is empty: the mask covers
    everything it could be contrasted with)."""
    from scipy.ndimage import binary_dilation

    outer = binary_dilation(mask, iterations=max(1, ring)) & ~mask
    if not outer.any() or not mask.any():
        return 0.0
    inside = _colour_histogram(image[mask])
    around = _colour_histogram(image[outer])
    return float(1.0 - np.minimum(inside, around).sum())


def selective_search(
    image: np.ndarray,
    scales=(50, 150),
    sigma: float = 0.8,
    min_size: int | None = None,
    min_area: float = 0.002,
    max_area: float = 0.85,
    ring_fraction: float = 0.1,
) -> tuple[np.ndarray, np.ndarray]:
    """Class-agnostic proposals of an image with an objectness score each.

    Args:
        image (np.ndarray): ``(H, W, 3)`` uint8 RGB.
        scales (Sequence[float]): Felzenszwalb scales of the initial regions
            (one hierarchy each). Default: (50, 150).
        sigma (float): Felzenszwalb's pre-smoothing. Default: 0.8.
        min_size (int, optional): Felzenszwalb's minimum segment size in
            pixels; None takes each scale's own value, as Selective Search
            does (Uijlings et al., IJCV 2013: minSize = k). Default: None.
        min_area / max_area (float): Kept proposals' area as a fraction of the
            image (PRM's limits: 0.00002 / 0.85). Default: 0.002 / 0.85.
        ring_fraction (float): Width of the contrast ring as a fraction of the
            proposal's box side (at least 1 px). Default: 0.1.

    Returns:
        tuple: ``masks`` ``(P, H, W)`` bool (duplicates removed) and ``scores``
        ``(P,)`` float objectness in [0, 1], by descending score.
    """
    from skimage.segmentation import felzenszwalb

    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(
            f'image must be (H, W, 3) uint8, got {image.shape} {image.dtype}'
        )
    h, w = image.shape[:2]
    masks, seen = [], set()
    for scale in scales:
        smallest = int(scale) if min_size is None else min_size
        segments = felzenszwalb(image, scale=scale, sigma=sigma, min_size=smallest)
        for members in hierarchical_grouping(image, segments):
            mask = np.isin(segments, members)
            area = mask.sum() / (h * w)
            if not min_area <= area <= max_area:
                continue
            key = np.packbits(mask).tobytes()
            if key in seen:
                continue
            seen.add(key)
            masks.append(mask)
    if not masks:
        return np.zeros((0, h, w), bool), np.zeros(0)
    scores = []
    for mask in masks:
        ys, xs = np.nonzero(mask)
        side = max(ys.max() - ys.min() + 1, xs.max() - xs.min() + 1)
        scores.append(colour_contrast(image, mask, round(ring_fraction * side)))
    scores = np.asarray(scores)
    order = np.argsort(-scores, kind='stable')
    return np.stack(masks)[order], scores[order]
