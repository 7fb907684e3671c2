"""IRNet (Ahn, Cho & Kwak, CVPR 2019): training losses and semantic pseudo labels.

Conventions (shared with :mod:`mmwsss.ops.irn_instance`):

* **Maps.** The boundary and the displacement field live on the stride-4 map of
  the image, of size ``ceil(H / 4) x ceil(W / 4)``, the size the CAM stage
  stores its strided CAMs at.
* **Displacement.** ``D(p) = (dy, dx)``, in stride-4 pixels, points from ``p``
  to the centroid ``c`` of its instance. For two pixels ``i`` and ``j = i +
  (dy, dx)`` of the same instance, ``D(i) - D(j) = (c - i) - (c - j) = (dy,
  dx)``: the pair's offset, which is the training target of foreground pairs
  (IRN's reference computes the same difference, source minus destination).
  Background pairs are trained towards ``D(i) - D(j) = 0``; the field is only
  defined up to a constant, which IRNet's mean-shift layer removes.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from .affinity import boundary_to_affinity, neighbor_offsets, pair_sets, path_max
from .random_walk import random_walk

#: Largest difference, in pixels per side, between the CAM and boundary maps
#: that :func:`irn_semantic_labels` aligns by cropping or zero padding.
MAX_SIZE_MISMATCH = 2


def irn_pair_losses(
    boundary: torch.Tensor,
    displacement: torch.Tensor,
    labels: torch.Tensor,
    radius: int = 10,
    ignore_index: int = 255,
    eps: float = 1e-5,
) -> dict[str, torch.Tensor]:
    """The four terms of IRNet's loss on pixel pairs within ``radius``.

    With pair sets from :func:`~mmwsss.ops.pair_label_masks` and the affinity
    ``a = 1 - max boundary on the pair's path``:

    * ``aff_pos`` = (mean over bg-pos pairs of ``-log(a + eps)`` + the same
      over fg-pos pairs) / 2;
    * ``aff_neg`` = mean over negative pairs of ``-log(1 + eps - a)``;
    * ``dp_fg`` = mean over fg-pos pairs of ``|D(i) - D(j) - (dy, dx)|``,
      averaged over the two components;
    * ``dp_bg`` = mean over bg-pos pairs of ``|D(i) - D(j)|``, likewise.

    IRN's total loss is ``(aff_pos + aff_neg) / 2 + (dp_fg + dp_bg) / 2``. A
    term whose pair set is empty is 0.

    Args:
        boundary (Tensor): ``(B, h, w)`` boundary probabilities in [0, 1].
        displacement (Tensor): ``(B, 2, h, w)`` field ``(dy, dx)`` in map
            pixels (see the module docstring for the sign).
        labels (Tensor): ``(B, h, w)`` integer labels on the same map (0
            background, ``ignore_index`` unsure).
        radius (int): Pair radius. Default: 10.
        ignore_index (int): Label of unsure pixels. Default: 255.
        eps (float): Added inside the logarithms. Default: 1e-5.

    Returns:
        dict[str, Tensor]: Scalars ``aff_pos``, ``aff_neg``, ``dp_fg`` and
        ``dp_bg``.
    """
    if boundary.dim() != 3 or displacement.dim() != 4 or displacement.shape[1] != 2:
        raise ValueError(
            'expected a (B, h, w) boundary and a (B, 2, h, w) displacement, got '
            f'{tuple(boundary.shape)} and {tuple(displacement.shape)}'
        )
    if labels.shape != boundary.shape or displacement.shape[2:] != boundary.shape[1:]:
        raise ValueError(
            f'labels {tuple(labels.shape)}, boundary {tuple(boundary.shape)} and '
            f'displacement {tuple(displacement.shape)} must share (B, h, w)'
        )
    # one offset at a time, on (B, h, w) slices of padded maps: the same sums
    # as over the (B, P, h, w) pair maps of pair_label_masks,
    # boundary_to_affinity and neighbor_values (the test checks the two
    # against each other), without their 150-fold copies, which made this
    # loss a third of IRN's training step on a CPU
    labels = labels.long()
    height, width = boundary.shape[1:]
    pad = radius - 1
    # padding: boundary 1 (affinity 0), labels unsure, so that a pair leaving
    # the map is in no set; a pair's path stays inside the map with its ends
    padded_boundary = F.pad(boundary, (pad, pad, 0, pad), value=1.0)
    padded_labels = F.pad(labels, (pad, pad, 0, pad), value=ignore_index)
    padded_field = F.pad(displacement, (pad, pad, 0, pad))
    sums = {key: [] for key in ('bg_pos', 'fg_pos', 'neg', 'dp_fg', 'dp_bg')}
    # integer tensors: exact at any batch size, and a GPU is not synchronised
    # at every offset
    counts = {
        key: torch.zeros((), dtype=torch.long, device=boundary.device)
        for key in ('bg_pos', 'fg_pos', 'neg')
    }
    offsets = neighbor_offsets(radius)
    targets = displacement.new_tensor(offsets)[:, None, :, None, None]  # [P,1,2,1,1]

    def masked_sum(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return torch.where(mask, values, 0).sum()

    for k, (dy, dx) in enumerate(offsets):
        rows, cols = slice(dy, dy + height), slice(pad + dx, pad + dx + width)
        sets = pair_sets(labels, padded_labels[:, rows, cols], ignore_index)
        affinity = 1 - path_max(padded_boundary, (dy, dx), radius)
        pos_log = -torch.log(affinity + eps)
        for key in ('bg_pos', 'fg_pos'):
            sums[key].append(masked_sum(pos_log, sets[key]))
        neg_log = -torch.log(1 + eps - affinity)
        sums['neg'].append(masked_sum(neg_log, sets['neg']))
        # D(i) - D(j), trained to the offset on fg pairs and to 0 on bg pairs
        diff = displacement - padded_field[:, :, rows, cols]  # [B, 2, h, w]
        fg_error = (diff - targets[k]).abs().mean(dim=1)
        sums['dp_fg'].append(masked_sum(fg_error, sets['fg_pos']))
        sums['dp_bg'].append(masked_sum(diff.abs().mean(dim=1), sets['bg_pos']))
        for key in counts:
            counts[key] = counts[key] + sets[key].sum()

    def mean(key: str, count_key: str) -> torch.Tensor:
        # 0, with a gradient path, when the set is empty
        total = torch.stack(sums[key]).sum() if sums[key] else boundary.sum() * 0
        return total / counts[count_key].clamp(min=1)

    aff_pos = (mean('bg_pos', 'bg_pos') + mean('fg_pos', 'fg_pos')) / 2
    aff_neg = mean('neg', 'neg')
    dp_fg = mean('dp_fg', 'fg_pos')
    dp_bg = mean('dp_bg', 'bg_pos')
    return dict(aff_pos=aff_pos, aff_neg=aff_neg, dp_fg=dp_fg, dp_bg=dp_bg)


def _align_to(cams: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Crop or zero-pad ``cams`` (K, h', w') at the bottom/right to ``size``."""
    height, width = size
    cams = cams[:, :height, :width]
    pad_h, pad_w = height - cams.shape[1], width - cams.shape[2]
    if pad_h or pad_w:
        cams = F.pad(cams, (0, pad_w, 0, pad_h))
    return cams


def irn_walk_scores(
    cams_strided: torch.Tensor,
    keys: torch.Tensor | Sequence[int],
    boundary: torch.Tensor,
    image_size: Sequence[int],
    radius: int = 5,
    beta: float = 10,
    steps: int = 256,
    stride: int = 4,
) -> torch.Tensor:
    """IRN's propagated class scores of one image, before the background cut.

    The CAMs are multiplied by ``1 - boundary``, propagated by
    :func:`~mmwsss.ops.random_walk` with the affinities of the boundary
    (:func:`~mmwsss.ops.boundary_to_affinity`, ``beta``, ``steps``),
    upsampled by ``stride`` (bilinear), cropped to ``image_size`` and divided
    by their global maximum.

    CAM maps whose size differs from the boundary map by at most
    :data:`MAX_SIZE_MISMATCH` pixels per side (another rounding of the
    strided size) are cropped or zero-padded at the bottom and right to the
    boundary map; a zero-padded row starts without CAM and is filled by the
    walk.

    Args:
        cams_strided (Tensor): ``(K, h', w')`` stride-``stride`` CAMs of the
            image's classes (the CAM stage's ``cam``).
        keys (Tensor | Sequence[int]): ``(K,)`` class index (1..C) of each map.
        boundary (Tensor): ``(h, w)`` boundary probabilities in [0, 1].
        image_size (Sequence[int]): ``(H, W)`` of the image; ``stride * (h,
            w)`` must cover it.
        radius (int): Walk radius. Default: 5.
        beta (float): Power of the affinities. Default: 10.
        steps (int): Walk steps. Default: 256.
        stride (int): Upsampling factor from the map to the image. Default: 4.

    Returns:
        Tensor: ``(K, H, W)`` scores in [0, 1] (all 0 when the walked maps are
        nowhere positive).
    """
    cams = torch.as_tensor(cams_strided)
    if not cams.is_floating_point():
        cams = cams.float()
    keys = torch.as_tensor(keys, dtype=torch.long, device=cams.device).reshape(-1)
    if cams.dim() != 3 or cams.shape[0] != keys.numel():
        raise ValueError(
            f'cams_strided must be (K, h, w) with one key per map, got shape '
            f'{tuple(cams.shape)} and {keys.numel()} keys'
        )
    boundary = torch.as_tensor(boundary).to(cams)
    if boundary.dim() != 2:
        raise ValueError(f'boundary must be (h, w), got {tuple(boundary.shape)}')
    height, width = boundary.shape
    if (
        abs(cams.shape[1] - height) > MAX_SIZE_MISMATCH
        or abs(cams.shape[2] - width) > MAX_SIZE_MISMATCH
    ):
        raise ValueError(
            f'CAMs of size {tuple(cams.shape[1:])} do not match the boundary map '
            f'of size {(height, width)}: both must be the stride-{stride} map of '
            'the same image (is the test pipeline resizing the image, or were the '
            'CAMs exported for other images?)'
        )
    img_h, img_w = (int(v) for v in image_size)
    if stride * height < img_h or stride * width < img_w:
        raise ValueError(
            f'a {height}x{width} map at stride {stride} does not cover an image '
            f'of {img_h}x{img_w}'
        )
    if keys.numel() == 0:
        return cams.new_zeros((0, img_h, img_w))
    cams = _align_to(cams, (height, width))
    affinity = boundary_to_affinity(boundary[None], radius)[0]
    walked = random_walk(cams * (1 - boundary), affinity, radius, beta, steps)
    up = F.interpolate(
        walked[None],
        size=(stride * height, stride * width),
        mode='bilinear',
        align_corners=False,
    )[0, :, :img_h, :img_w]  # [K, H, W]
    peak = up.max()
    if not peak > 0:
        return torch.zeros_like(up)
    return up / peak


def scores_to_labels(
    scores: torch.Tensor, keys: torch.Tensor | Sequence[int], bg_score: float
) -> torch.Tensor:
    """Prepend a constant background score, argmax, map to class indices.

    Args:
        scores (Tensor): ``(K, H, W)`` class scores.
        keys (Tensor | Sequence[int]): ``(K,)`` class index of each map.
        bg_score (float): Background score; ties go to background.

    Returns:
        Tensor: ``(H, W)`` long class indices (0 = background).
    """
    keys = torch.as_tensor(keys, dtype=torch.long, device=scores.device).reshape(-1)
    padded = F.pad(scores, (0, 0, 0, 0, 1, 0), value=bg_score)  # [1 + K, H, W]
    lookup = F.pad(keys, (1, 0))  # [0, *keys]
    return lookup[padded.argmax(dim=0)]


def irn_semantic_labels(
    cams_strided: torch.Tensor,
    keys: torch.Tensor | Sequence[int],
    boundary: torch.Tensor,
    image_size: Sequence[int],
    radius: int = 5,
    beta: float = 10,
    steps: int = 256,
    bg_score: float = 0.25,
    stride: int = 4,
) -> torch.Tensor:
    """IRN's semantic pseudo label of one image.

    :func:`irn_walk_scores`, then a constant ``bg_score`` channel is prepended
    and each pixel takes the class of the argmax (ties go to background).

    Args:
        cams_strided (Tensor): ``(K, h', w')`` stride-``stride`` CAMs of the
            image's classes (the CAM stage's ``cam``).
        keys (Tensor | Sequence[int]): ``(K,)`` class index (1..C) of each map.
        boundary (Tensor): ``(h, w)`` boundary probabilities in [0, 1].
        image_size (Sequence[int]): ``(H, W)`` of the image; ``stride * (h,
            w)`` must cover it.
        radius (int): Walk radius. Default: 5.
        beta (float): Power of the affinities. Default: 10.
        steps (int): Walk steps. Default: 256.
        bg_score (float): Background score after normalisation. Default: 0.25.
        stride (int): Upsampling factor from the map to the image. Default: 4.

    Returns:
        Tensor: ``(H, W)`` long class indices (0 = background); all background
        when ``K == 0`` or the walked maps are nowhere positive.
    """
    scores = irn_walk_scores(
        cams_strided, keys, boundary, image_size, radius, beta, steps, stride
    )
    return scores_to_labels(scores, keys, bg_score)
