"""Class peak responses (PRM, Zhou et al., CVPR 2018).

A peak of a class response map is a local maximum in a ``window x window``
neighbourhood whose value exceeds the map's median. Peak stimulation makes the
image-level score of a class the mean response at its peaks, so the
classification loss sends gradients through the peaks only and the network
learns to put a strong, localised response on each object instance.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def peak_mask(maps: torch.Tensor, window: int = 3) -> torch.Tensor:
    """Where ``maps`` have a peak: the local maximum of its ``window`` x
    ``window`` neighbourhood, strictly above the map's median.

    Args:
        maps (Tensor): ``(..., H, W)`` response maps (one map per leading index).
        window (int): Odd neighbourhood size. Default: 3 (PRM's).

    Returns:
        Tensor: Bool, the shape of ``maps``. A plateau of equal maxima marks
        each of its pixels (all are local maxima); a constant map has none.
    """
    if window < 1 or window % 2 == 0:
        raise ValueError(f'window must be a positive odd number, got {window}')
    shape = maps.shape
    if maps.dim() < 2:
        raise ValueError(f'maps must be (..., H, W), got shape {tuple(shape)}')
    flat = maps.detach().reshape(-1, 1, *shape[-2:]).float()
    pooled = F.max_pool2d(flat, window, stride=1, padding=window // 2)
    median = flat.flatten(1).median(dim=1).values.view(-1, 1, 1, 1)
    peaks = (flat >= pooled) & (flat > median)
    return peaks.reshape(shape)


def peak_stimulation(maps: torch.Tensor, window: int = 3) -> torch.Tensor:
    """Image scores ``(N, C)`` of class response maps ``(N, C, H, W)``: the
    mean response at each map's peaks (the map's mean where it has none).

    The peak locations are found without gradient; the score is a mean of the
    responses there, so only peak pixels receive gradient.
    """
    if maps.dim() != 4:
        raise ValueError(f'maps must be (N, C, H, W), got shape {tuple(maps.shape)}')
    mask = peak_mask(maps, window).to(maps.dtype)
    count = mask.sum(dim=(2, 3))
    at_peaks = (maps * mask).sum(dim=(2, 3)) / count.clamp(min=1)
    return torch.where(count > 0, at_peaks, maps.mean(dim=(2, 3)))


def find_peaks(
    maps: torch.Tensor, keys: torch.Tensor, window: int = 3, min_score: float = 0.0
) -> list[tuple[int, int, int, float]]:
    """The peaks of an image's class maps, strongest first.

    Args:
        maps (Tensor): ``(K, H, W)`` maps of the image's classes.
        keys (Tensor): ``(K,)`` their class indices.
        window (int): Neighbourhood size. Default: 3.
        min_score (float): Keep peaks whose value exceeds it (e.g. on
            max-normalised CAMs, a fraction of the class's maximum).
            Default: 0.0.

    Returns:
        list: ``(class, y, x, score)`` per peak, by descending score.
    """
    if maps.dim() != 3 or len(keys) != len(maps):
        raise ValueError(
            f'maps (K, H, W) {tuple(maps.shape)} and keys (K,) {tuple(keys.shape)} '
            'must match'
        )
    peaks = peak_mask(maps, window) & (maps > min_score)
    found = []
    for k, y, x in torch.nonzero(peaks).tolist():
        found.append((int(keys[k]), y, x, float(maps[k, y, x])))
    return sorted(found, key=lambda p: -p[3])
