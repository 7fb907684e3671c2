"""Pixel-pair geometry of AffinityNet (PSA) and IRN (pure tensor functions).

Both methods relate every pixel to its neighbours within a radius on a strided
feature map. The conventions below follow the published formulation:

* **Offsets.** A pair is a pixel ``i`` and a neighbour ``j = i + (dy, dx)`` with
  ``dy ** 2 + dx ** 2 < radius ** 2``. Only the *forward half* of the disk is
  listed (``dy > 0``, or ``dy == 0`` and ``dx > 0``), so each unordered pair of
  pixels appears exactly once; the backward half is the same pairs seen from the
  other end. The order is row-major: ``(0, 1) .. (0, radius - 1)``, then every
  ``dx`` from ``-(radius - 1)`` to ``radius - 1`` for ``dy = 1 .. radius - 1``.
  Radius 5 gives 34 forward offsets (68 with both directions, 69 with the pixel
  itself); radius 10 gives 152.
* **Affinity maps.** Pairwise quantities are stored as ``(B, n_offsets, H, W)``
  maps: entry ``[b, k, y, x]`` belongs to the pair ``(y, x) -> (y + dy_k, x +
  dx_k)``. Entries whose neighbour falls outside the image are 0.
* **Paths (IRN).** The path of an offset is every pixel of the bounding box of
  the segment ``(0, 0) -> (dy, dx)`` whose centre lies at a perpendicular
  distance < 1 from the line through it. This band (rather than a one-pixel
  digital line) cannot slip diagonally between the pixels of a thin boundary.
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F


def _check_radius(radius: int) -> None:
    if isinstance(radius, bool) or not isinstance(radius, int) or radius < 1:
        raise ValueError(f'radius must be an int >= 1, got {radius!r}')


@functools.cache
def _forward_offsets(radius: int) -> tuple[tuple[int, int], ...]:
    offsets = [(0, dx) for dx in range(1, radius)]
    for dy in range(1, radius):
        for dx in range(-radius + 1, radius):
            if dy * dy + dx * dx < radius * radius:
                offsets.append((dy, dx))
    return tuple(offsets)


def neighbor_offsets(radius: int) -> list[tuple[int, int]]:
    """Forward-half offsets ``(dy, dx)`` of the pairs within ``radius``.

    Args:
        radius (int): Pairs satisfy ``dy ** 2 + dx ** 2 < radius ** 2``; radius 1
            has no pairs.

    Returns:
        list[tuple[int, int]]: Offsets with ``dy > 0``, or ``dy == 0`` and
        ``dx > 0``, in row-major order (34 for radius 5, 152 for radius 10).
    """
    _check_radius(radius)
    return list(_forward_offsets(radius))


@functools.cache
def _path_points(dy: int, dx: int) -> tuple[tuple[int, int], ...]:
    length_sq = dy * dy + dx * dx
    points = [
        (y, x)
        for y in range(min(0, dy), max(0, dy) + 1)
        for x in range(min(0, dx), max(0, dx) + 1)
        # squared distance of (y, x) to the line = (dy*x - dx*y)^2 / length_sq
        if (dy * x - dx * y) ** 2 < length_sq
    ]
    # from (0, 0) to (dy, dx) along the line
    points.sort(key=lambda p: (p[0] * dy + p[1] * dx, p))
    return tuple(points)


def path_points(offset: tuple[int, int]) -> list[tuple[int, int]]:
    """Pixels on the straight path from ``(0, 0)`` to ``offset``, both included.

    A pixel of the segment's bounding box is on the path when its centre is at a
    perpendicular distance < 1 from the line through ``(0, 0)`` and ``offset``
    (IRN's definition). The set is symmetric: the path of ``offset`` seen from
    its far end, ``{offset - p}``, is the same set of pixels.

    Args:
        offset (tuple[int, int]): Non-zero ``(dy, dx)``.

    Returns:
        list[tuple[int, int]]: ``(y, x)`` points ordered along the line, starting
        with ``(0, 0)`` and ending with ``offset``.
    """
    dy, dx = (int(v) for v in offset)
    if dy == 0 and dx == 0:
        raise ValueError('path_points needs a non-zero offset, got (0, 0)')
    return list(_path_points(dy, dx))


def _check_map_size(height: int, width: int) -> None:
    if height < 1 or width < 1:
        raise ValueError(f'map size must be positive, got {height}x{width}')


def _valid_range(size: int, delta: int) -> tuple[int, int]:
    """``[start, stop)`` of the ``i`` with ``i`` and ``i + delta`` in ``[0, size)``."""
    start = max(0, -delta)
    return start, max(start, min(size, size - delta))


def pair_indices(
    height: int, width: int, radius: int, device: torch.device | str | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Flat indices of all in-image pairs of a ``height`` x ``width`` map.

    Pairs are listed offset by offset (in :func:`neighbor_offsets` order), each
    offset's pairs in row-major order of their source pixel.

    Args:
        height (int): Map height.
        width (int): Map width.
        radius (int): Pair radius (see :func:`neighbor_offsets`).
        device (torch.device | str, optional): Device of the result.
            Default: None (CPU).

    Returns:
        tuple[Tensor, Tensor, Tensor]: ``(src, dst, offset_ids)``, 1-D long
        tensors of equal length: flat indices ``y * width + x`` of the source and
        of the neighbour, and the index of the offset. ``offset_ids * height *
        width + src`` indexes the flattened ``(n_offsets, H, W)`` affinity map.
    """
    _check_radius(radius)
    _check_map_size(height, width)
    src, dst, ids = [], [], []
    for k, (dy, dx) in enumerate(_forward_offsets(radius)):
        ys = torch.arange(*_valid_range(height, dy), device=device)
        xs = torch.arange(*_valid_range(width, dx), device=device)
        flat = (ys[:, None] * width + xs[None, :]).reshape(-1)
        src.append(flat)
        dst.append(flat + dy * width + dx)
        ids.append(torch.full_like(flat, k))
    if not src:
        empty = torch.zeros(0, dtype=torch.long, device=device)
        return empty, empty.clone(), empty.clone()
    return torch.cat(src), torch.cat(dst), torch.cat(ids)


def valid_pair_mask(
    height: int, width: int, radius: int, device: torch.device | str | None = None
) -> torch.Tensor:
    """Which entries of an ``(n_offsets, H, W)`` pair map lie inside the image.

    Args:
        height (int): Map height.
        width (int): Map width.
        radius (int): Pair radius (see :func:`neighbor_offsets`).
        device (torch.device | str, optional): Device of the result.
            Default: None (CPU).

    Returns:
        Tensor: ``(n_offsets, H, W)`` bool, True where the neighbour
        ``(y + dy, x + dx)`` is inside the map.
    """
    _check_radius(radius)
    _check_map_size(height, width)
    offsets = _forward_offsets(radius)
    mask = torch.zeros((len(offsets), height, width), dtype=torch.bool, device=device)
    for k, (dy, dx) in enumerate(offsets):
        (y0, y1), (x0, x1) = _valid_range(height, dy), _valid_range(width, dx)
        mask[k, y0:y1, x0:x1] = True
    return mask


def neighbor_values(x: torch.Tensor, radius: int, fill: float = 0) -> torch.Tensor:
    """Value of each pixel's neighbour at every forward offset.

    Useful to build pair labels, e.g. ``neighbor_values(labels, r, fill=255)``
    next to ``labels[..., None, :, :]``.

    Args:
        x (Tensor): ``(..., H, W)`` map of any dtype.
        radius (int): Pair radius (see :func:`neighbor_offsets`).
        fill (float): Value for neighbours outside the image. Default: 0.

    Returns:
        Tensor: ``(..., n_offsets, H, W)`` with ``out[..., k, y, x] =
        x[..., y + dy_k, x + dx_k]``, or ``fill`` outside the image.
    """
    _check_radius(radius)
    if x.dim() < 2:
        raise ValueError(f'neighbor_values expects (..., H, W), got {tuple(x.shape)}')
    height, width = x.shape[-2:]
    pad = radius - 1
    padded = x.new_full((*x.shape[:-2], height + pad, width + 2 * pad), fill)
    padded[..., :height, pad : pad + width] = x
    views = [
        padded[..., dy : dy + height, pad + dx : pad + dx + width]
        for dy, dx in _forward_offsets(radius)
    ]
    if not views:
        return x.new_full((*x.shape[:-2], 0, height, width), fill)
    return torch.stack(views, dim=-3)


def boundary_to_affinity(boundary: torch.Tensor, radius: int) -> torch.Tensor:
    """IRN affinity: one minus the strongest boundary along each pair's path.

    Differentiable; for backward it keeps only the argmax index of every pair
    (not the per-point intermediate maps).

    Args:
        boundary (Tensor): ``(B, H, W)`` boundary probabilities in [0, 1].
        radius (int): Pair radius (see :func:`neighbor_offsets`).

    Returns:
        Tensor: ``(B, n_offsets, H, W)`` affinity ``1 - max(boundary on
        path_points)`` of each pixel with its neighbour at each forward offset;
        0 where the neighbour is outside the image.
    """
    _check_radius(radius)
    if boundary.dim() != 3:
        raise ValueError(
            f'boundary_to_affinity expects a (B, H, W) boundary map, '
            f'got shape {tuple(boundary.shape)}'
        )
    batch, height, width = boundary.shape
    offsets = _forward_offsets(radius)
    if not offsets:
        return boundary.new_zeros((batch, 0, height, width))
    pad = radius - 1
    # boundary 1 outside the image -> affinity 0 for pairs leaving it; paths of
    # in-image pairs stay inside the (convex) image
    padded = F.pad(boundary, (pad, pad, 0, pad), value=1.0)  # [B, H + p, W + 2p]
    affinities = [1 - path_max(padded, (dy, dx), radius) for dy, dx in offsets]
    return torch.stack(affinities, dim=1)


def path_max(
    padded: torch.Tensor, offset: tuple[int, int], radius: int
) -> torch.Tensor:
    """Strongest value on the path of ``offset`` from every pixel.

    Args:
        padded (Tensor): ``(..., H + r - 1, W + 2 (r - 1))`` map padded as
            :func:`boundary_to_affinity` pads it (``r - 1`` at the bottom, left
            and right, none at the top).
        offset (tuple[int, int]): A forward offset ``(dy, dx)``.
        radius (int): The pair radius ``r`` of the padding.

    Returns:
        Tensor: ``(..., H, W)`` max over :func:`path_points` of ``offset``;
        for backward the gradient goes to one point of each path (IRN
        max-pools over the path).
    """
    pad = radius - 1
    height, width = padded.shape[-2] - pad, padded.shape[-1] - 2 * pad
    views = [
        padded[..., py : py + height, pad + px : pad + px + width]
        for py, px in _path_points(*offset)
    ]
    return torch.stack(views).max(dim=0).values


def affinity_from_features(feats: torch.Tensor, radius: int) -> torch.Tensor:
    """AffinityNet affinity ``exp(-mean_c |f_i - f_j|)`` of every forward pair.

    Args:
        feats (Tensor): ``(B, C, H, W)`` affinity features.
        radius (int): Pair radius (see :func:`neighbor_offsets`).

    Returns:
        Tensor: ``(B, n_offsets, H, W)`` affinities in (0, 1]; 0 where the
        neighbour is outside the image.
    """
    _check_radius(radius)
    if feats.dim() != 4:
        raise ValueError(
            f'affinity_from_features expects (B, C, H, W) features, '
            f'got shape {tuple(feats.shape)}'
        )
    batch, _, height, width = feats.shape
    offsets = _forward_offsets(radius)
    if not offsets:
        return feats.new_zeros((batch, 0, height, width))
    pad = radius - 1
    padded = F.pad(feats, (pad, pad, 0, pad))  # [B, C, H + p, W + 2p]
    valid = valid_pair_mask(height, width, radius, device=feats.device)
    affinities = []
    for k, (dy, dx) in enumerate(offsets):
        neighbour = padded[:, :, dy : dy + height, pad + dx : pad + dx + width]
        distance = (feats - neighbour).abs().mean(dim=1)  # [B, H, W]
        affinities.append(torch.exp(-distance) * valid[k])
    return torch.stack(affinities, dim=1)


def pair_label_masks(
    labels: torch.Tensor, radius: int, ignore_index: int = 255
) -> dict[str, torch.Tensor]:
    """Pair supervision of AffinityNet and IRN from a (downscaled) label map.

    A pair whose two pixels carry the same known label is positive (``bg_pos`` for
    label 0, ``fg_pos`` otherwise); a pair of two different known labels is
    negative; a pair touching ``ignore_index`` or leaving the image is in none.

    Args:
        labels (Tensor): ``(B, H, W)`` integer labels, 0 = background.
        radius (int): Pair radius (see :func:`neighbor_offsets`).
        ignore_index (int): Label of unsure pixels. Default: 255.

    Returns:
        dict[str, Tensor]: ``bg_pos``, ``fg_pos`` and ``neg``, each a
        ``(B, n_offsets, H, W)`` bool map aligned with the affinity maps.
    """
    if labels.dim() != 3 or labels.is_floating_point():
        raise ValueError(
            'pair_label_masks expects a (B, H, W) integer label map, got '
            f'{labels.dtype} of shape {tuple(labels.shape)}'
        )
    labels = labels.long()
    neighbours = neighbor_values(labels, radius, fill=ignore_index)
    return pair_sets(labels[:, None].expand_as(neighbours), neighbours, ignore_index)


def pair_sets(
    here: torch.Tensor, there: torch.Tensor, ignore_index: int = 255
) -> dict[str, torch.Tensor]:
    """The pair sets of :func:`pair_label_masks` from the labels at both ends.

    Args:
        here (Tensor): Integer labels of each pair's first pixel.
        there (Tensor): Labels of its neighbour, the same shape
            (``ignore_index`` where the neighbour leaves the image).
        ignore_index (int): Label of unsure pixels. Default: 255.

    Returns:
        dict[str, Tensor]: ``bg_pos``, ``fg_pos`` and ``neg`` bool maps of
        that shape.
    """
    known = (here != ignore_index) & (there != ignore_index)
    same = known & (here == there)
    return dict(
        bg_pos=same & (here == 0),
        fg_pos=same & (here != 0),
        neg=known & (here != there),
    )
