"""Pure tensor helpers for class activation maps (no registry, no file IO)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F


def strided_size(size: Sequence[int], stride: int) -> tuple[int, int]:
    """Size of a map at ``stride`` for an image of ``size`` (rounded up)."""
    return math.ceil(size[0] / stride), math.ceil(size[1] / stride)


def max_normalize(cams: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Divide each map of ``cams`` (K, H, W) by its own maximum (+ ``eps``)."""
    if cams.numel() == 0:
        return cams
    peak = cams.flatten(1).max(dim=1).values.clamp(min=0)
    return cams / (peak[:, None, None] + eps)


def cams_to_labels(
    cams: torch.Tensor, keys: torch.Tensor, bg_score: float
) -> torch.Tensor:
    """Label map from normalised CAMs with a constant background score.

    Args:
        cams (Tensor): (K, H, W) maps of the image's classes.
        keys (Tensor): (K,) segmentation class index of each map.
        bg_score (float): Score of the background channel prepended to the maps.

    Returns:
        Tensor: (H, W) long labels; a pixel is background unless a class map is
        strictly above ``bg_score`` (the argmax of ``[bg, cams]`` with ties to
        background).
    """
    height, width = cams.shape[-2:]
    if cams.shape[0] == 0:
        return torch.zeros((height, width), dtype=torch.long, device=cams.device)
    fg_max, fg_arg = cams.max(dim=0)
    labels = keys.to(cams.device).long()[fg_arg]
    return torch.where(fg_max > bg_score, labels, torch.zeros_like(labels))


def multiscale_cam(
    cam_fn,
    image: torch.Tensor,
    scales: Sequence[float],
    flip: bool,
    out_sizes: Sequence[Sequence[int]],
) -> list[torch.Tensor]:
    """Sum of rectified CAMs over scales (and horizontal flips).

    Args:
        cam_fn (Callable): Maps a (B, 3, h, w) batch to (B, C, h', w') CAM logits.
        image (Tensor): (3, H, W) normalised image.
        scales (Sequence[float]): Rescale factors of the image.
        flip (bool): Also run each scale on the horizontally flipped image.
        out_sizes (Sequence[Sequence[int]]): Sizes to resize each scale's maps to
            before summing; one summed map is returned per size.

    Returns:
        list[Tensor]: One (C, *size) tensor per entry of ``out_sizes``.
    """
    height, width = image.shape[-2:]
    sums: list[torch.Tensor | None] = [None] * len(out_sizes)
    for scale in scales:
        size = (max(1, round(height * scale)), max(1, round(width * scale)))
        x = image[None]
        if size != (height, width):
            x = F.interpolate(x, size=size, mode='bilinear', align_corners=False)
        if flip:
            x = torch.cat([x, x.flip(-1)], dim=0)
        cams = F.relu(cam_fn(x))
        if flip:
            cams = cams[0:1] + cams[1:2].flip(-1)
        for i, out_size in enumerate(out_sizes):
            resized = F.interpolate(
                cams, size=tuple(out_size), mode='bilinear', align_corners=False
            )[0]
            sums[i] = resized if sums[i] is None else sums[i] + resized
    return sums
