"""HFPL's losses under the binomial posterior (Jonnarth, Zhang & Felsberg, WACV 2024).

HFPL reads each class map of a CAM classifier as a per-pixel sigmoid (a class
is present at a pixel or not, independently of the other classes) and adds two
losses to any CAM method:

- importance sampling: per image and class, pixel positions drawn with
  probability proportional to the pixel's sigmoid; the multilabel soft margin
  loss on the sampled logits (mixed with the GAP loss, 0.2 / 0.8);
- feature similarity: pixels of similar colour should get similar class
  scores, pixels of different colour may differ: with the colour distance
  ``dx`` (mean absolute difference over the channels, in [0, 1]) mapped by
  ``tanh(mu + log(dx / (1 - dx)))`` (negative for similar pixels, positive for
  different ones), the score distance ``dy = 0.5 * ||y_i - y_j||^2`` of the
  sigmoid maps and a spatial Gaussian weight ``dp`` (sigma 5), the loss is
  ``-(1 / (n h w)) * sum_ij dp dy dx``.

The published feature similarity term is dense over all pixel pairs
(``(hw)^2`` memory); :func:`feature_similarity_loss` sums it offset by offset
within ``radius`` (default ``ceil(3 sigma)``: a dropped pair's weight is below
``exp(-4.5)`` = 1.1% of a neighbour's), so its memory is that of one map per
offset; with a radius that covers the map it equals the dense sum.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def colour_distance_weight(dx: torch.Tensor, mu: float = 2.5) -> torch.Tensor:
    """``tanh(mu + logit(dx))`` of colour distances ``dx`` in [0, 1]."""
    dx = dx.clamp(1e-6, 1 - 1e-6)
    return torch.tanh(mu + torch.log(dx / (1 - dx)))


def feature_similarity_loss(
    image: torch.Tensor,
    logits: torch.Tensor,
    mu: float = 2.5,
    sigma: float = 5.0,
    radius: int | None = None,
    class_mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """HFPL's feature similarity loss, summed over pixel pairs within ``radius``.

    Args:
        image (Tensor): ``(N, 3, h, w)`` colours in [0, 1] at the maps' size.
        logits (Tensor): ``(N, C, h, w)`` class logits (sigmoid posteriors).
        mu (float): Colour distance shift. Default: 2.5.
        sigma (float): Spatial Gaussian of the pair weight, in pixels.
            Default: 5.
        radius (int, optional): Largest pair offset along each axis; default
            ``ceil(3 sigma)``.
        class_mask (Tensor, optional): ``(N, C)`` 0 / 1: the maps the loss
            covers (e.g. each image's own classes); the sum is then over those
            maps and divided by their number times ``h w``. Default: all maps.

    Returns:
        Tensor: The scalar loss ``-(1 / (N C h w)) sum_{i != j} dp dy dx``
        (``N C`` replaced by the number of maps in ``class_mask``).
    """
    if image.shape[0] != logits.shape[0] or image.shape[-2:] != logits.shape[-2:]:
        raise ValueError(
            f'image {tuple(image.shape)} and logits {tuple(logits.shape)} must '
            'share batch and grid'
        )
    n, c, h, w = logits.shape
    radius = math.ceil(3 * sigma) if radius is None else int(radius)
    y = torch.sigmoid(logits)
    weight, maps = _class_weights(class_mask, logits)
    total = logits.new_zeros(())
    for dy_ in range(-min(radius, h - 1), min(radius, h - 1) + 1):
        for dx_ in range(-min(radius, w - 1), min(radius, w - 1) + 1):
            if dy_ == 0 and dx_ == 0:
                continue
            # pixel i at (r, s) and j at (r + dy_, s + dx_), both inside
            ys, ye = max(0, -dy_), h - max(0, dy_)
            xs, xe = max(0, -dx_), w - max(0, dx_)
            yi = y[:, :, ys:ye, xs:xe]
            yj = y[:, :, ys + dy_ : ye + dy_, xs + dx_ : xe + dx_]
            ci = image[:, :, ys:ye, xs:xe]
            cj = image[:, :, ys + dy_ : ye + dy_, xs + dx_ : xe + dx_]
            colour = colour_distance_weight((ci - cj).abs().mean(dim=1), mu)
            score = 0.5 * (yi - yj).pow(2)  # per class
            spatial = math.exp(-(dy_ * dy_ + dx_ * dx_) / (2 * sigma * sigma))
            total = total + spatial * (score * weight * colour[:, None]).sum()
    return -total / (maps * h * w)


def _class_weights(
    class_mask: torch.Tensor | None, logits: torch.Tensor
) -> tuple[torch.Tensor | float, float]:
    """``(weight broadcastable to (N, C, h, w), number of maps covered)``."""
    n, c = logits.shape[:2]
    if class_mask is None:
        return 1.0, float(n * c)
    if class_mask.shape != (n, c):
        raise ValueError(
            f'class_mask must be {(n, c)} like the logits, got '
            f'{tuple(class_mask.shape)}'
        )
    weight = class_mask.to(logits.dtype)[:, :, None, None]
    return weight, max(float(class_mask.sum()), 1.0)


def dense_feature_similarity_loss(
    image: torch.Tensor,
    logits: torch.Tensor,
    mu: float = 2.5,
    sigma: float = 5.0,
    class_mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """The published dense form of :func:`feature_similarity_loss` (all pixel
    pairs, ``(hw)^2`` memory): the reference for small maps."""
    n, c, h, w = logits.shape
    y = torch.sigmoid(logits).flatten(2)  # (N, C, hw)
    colours = image.flatten(2)  # (N, 3, hw)
    dx = (colours[:, :, :, None] - colours[:, :, None, :]).abs().mean(dim=1)
    weight = colour_distance_weight(dx, mu)  # (N, hw, hw)
    ys, xs = torch.meshgrid(torch.arange(h), torch.arange(w), indexing='ij')
    pos = torch.stack([ys.flatten(), xs.flatten()], dim=1).float()
    dp = torch.exp(-torch.cdist(pos, pos).pow(2) / (2 * sigma * sigma))
    dp.fill_diagonal_(0)
    dy = 0.5 * (y[:, :, :, None] - y[:, :, None, :]).pow(2)  # (N, C, hw, hw)
    per_map = (dp * dy * weight[:, None]).sum(dim=(2, 3))  # (N, C)
    if class_mask is None:
        return -per_map.sum() / (n * c * h * w)
    kept = class_mask.to(per_map.dtype)
    return -(per_map * kept).sum() / (max(float(kept.sum()), 1.0) * h * w)


def importance_sampling_loss(
    logits: torch.Tensor,
    targets: torch.Tensor,
    num_samples: int = 10,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """HFPL's importance-sampling classification loss.

    For every image and class, ``num_samples`` pixel positions are drawn (with
    replacement) with probability proportional to the pixel's sigmoid; the
    multilabel soft margin loss is applied to each sampled logit against the
    image's label for the class.

    Args:
        logits (Tensor): ``(N, C, h, w)`` class logits.
        targets (Tensor): ``(N, C)`` multi-hot image labels.
        num_samples (int): Positions per image and class. Default: 10.
        generator (torch.Generator, optional): For reproducible draws.
    """
    n, c = logits.shape[:2]
    if targets.shape != (n, c):
        raise ValueError(f'targets must be {(n, c)}, got {tuple(targets.shape)}')
    flat = logits.flatten(2)  # (N, C, hw)
    with torch.no_grad():
        weights = torch.sigmoid(flat.float()).reshape(n * c, -1) + 1e-12
        picks = torch.multinomial(weights, num_samples, True, generator=generator)
    sampled = flat.reshape(n * c, -1).gather(1, picks.to(flat.device))
    sampled = sampled.view(n, c, num_samples)
    expanded = targets[:, :, None].expand_as(sampled).to(sampled.dtype)
    return F.binary_cross_entropy_with_logits(sampled, expanded)
