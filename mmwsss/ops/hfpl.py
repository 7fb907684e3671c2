"""HFPL's losses (Jonnarth, Zhang & Felsberg, WACV 2024), as its reference code
(arvijj/hfpl, on SEAM) computes them.

HFPL adds two losses to a CAM method:

- importance sampling: per image and class, pixel positions drawn with
  probability proportional to the pixel's sigmoid (plus 1e-5); the multilabel
  soft margin loss on the sampled logits (mixed with the GAP loss, 0.2 / 0.8);
- feature similarity: pixels of similar colour should get similar maps,
  pixels of different colour may differ. The maps ``y`` are HFPL's
  (:func:`hfpl_maps`): SEAM's ``max_norm`` of the CAM logits (min-max after a
  ReLU) times the image labels, with a background channel ``1 - max`` first.
  With the colour distance ``dx`` (mean absolute difference over the
  channels, in [0, 1]) mapped by ``tanh(mu + log((dx + 1e-5) / (1 - dx +
  1e-5)))`` (negative for similar pixels, positive for different ones), the
  map distance ``dy = 0.5 * ||y_i - y_j||^2`` (over the C + 1 channels) and
  the spatial Gaussian ``dp = exp(-d^2 / (2 sigma^2)) / (2 pi sigma^2)``
  (sigma in map cells), the loss is ``-(1 / (n h w)) * sum_{b, i, j} dp dy dx``
  over the batch's ``n`` images and all ordered pixel pairs.

The published feature similarity term is dense over all pixel pairs
(``(hw)^2`` memory); :func:`feature_similarity_loss` sums it offset by offset
within ``radius`` (default ``ceil(3 sigma)``: the Gaussian mass outside that
square is 0.5%), so its memory is that of one map per offset; with a radius
that covers the map it equals the dense sum
(:func:`dense_feature_similarity_loss`).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .seam import add_background, max_norm

#: the maps :func:`hfpl_maps` can compare: HFPL's and two ablations
HFPL_MAPS = ('max_norm', 'max', 'sigmoid')


def hfpl_maps(
    cams: torch.Tensor, labels: torch.Tensor, maps: str = 'max_norm'
) -> torch.Tensor:
    """The maps HFPL's feature similarity loss compares from the ``(N, C, h,
    w)`` CAM logits and the ``(N, C)`` image labels (absent classes' maps are
    zero and pass no gradient).

    Args:
        maps (str): ``'max_norm'`` (HFPL's): SEAM's ``max_norm`` (min-max
            after a ReLU) of the logits times the labels, background ``1 -
            max`` first, ``(N, C + 1, h, w)``. Ablations: ``'max'``: ReLU
            divided by each map's maximum (the CAM's own normalisation), with
            the same background; ``'sigmoid'``: per-class sigmoids times the
            labels, no background channel, ``(N, C, h, w)`` (what this project
            ran before following HFPL's code).
    """
    if labels.shape != cams.shape[:2]:
        raise ValueError(
            f'labels {tuple(labels.shape)} must be (N, C) of cams {tuple(cams.shape)}'
        )
    mask = labels.to(cams.dtype)[:, :, None, None]
    if maps == 'max_norm':
        return add_background(max_norm(cams) * mask)
    if maps == 'max':
        x = F.relu(cams)
        high = x.flatten(2).amax(dim=2)[:, :, None, None]
        return add_background(x / (high + 1e-5) * mask)
    if maps == 'sigmoid':
        return torch.sigmoid(cams) * mask
    raise ValueError(f'maps must be one of {HFPL_MAPS}, got {maps!r}')


def colour_distance_weight(dx: torch.Tensor, mu: float = 2.5) -> torch.Tensor:
    """HFPL's ``tanh(mu + log((dx + 1e-5) / (1 - dx + 1e-5)))`` of colour
    distances ``dx`` (clamped to [0, 1])."""
    dx = dx.clamp(0.0, 1.0)
    return torch.tanh(mu + torch.log((dx + 1e-5) / (1 - dx + 1e-5)))


def gaussian_weight(sq_dist: torch.Tensor | float, sigma: float):
    """HFPL's spatial weight ``exp(-d^2 / (2 sigma^2)) / (2 pi sigma^2)``."""
    if isinstance(sq_dist, torch.Tensor):
        return torch.exp(-sq_dist / (2 * sigma**2)) / (2 * math.pi * sigma**2)
    return math.exp(-sq_dist / (2 * sigma**2)) / (2 * math.pi * sigma**2)


def _check(image: torch.Tensor, maps: torch.Tensor, sigma: float) -> None:
    if image.shape[0] != maps.shape[0] or image.shape[-2:] != maps.shape[-2:]:
        raise ValueError(
            f'image {tuple(image.shape)} and maps {tuple(maps.shape)} must share '
            'batch and grid'
        )
    if sigma <= 0:
        raise ValueError(f'sigma must be positive, got {sigma}')


def feature_similarity_loss(
    image: torch.Tensor,
    maps: torch.Tensor,
    mu: float = 2.5,
    sigma: float = 5.0,
    radius: int | None = None,
) -> torch.Tensor:
    """HFPL's feature similarity loss, summed over pixel pairs within ``radius``.

    Args:
        image (Tensor): ``(N, 3, h, w)`` colours in [0, 1] at the maps' size
            (clamped to [0, 1]).
        maps (Tensor): ``(N, K, h, w)`` maps, HFPL's :func:`hfpl_maps`.
        mu (float): Colour distance shift. Default: 2.5.
        sigma (float): Spatial Gaussian of the pair weight, in map cells.
            Default: 5.
        radius (int, optional): Largest pair offset along each axis; default
            ``ceil(3 sigma)``.

    Returns:
        Tensor: The scalar loss ``-(1 / (N h w)) sum_{b, i != j} dp dy dx``.
    """
    _check(image, maps, sigma)
    n, _, h, w = maps.shape
    radius = math.ceil(3 * sigma) if radius is None else int(radius)
    image = image.clamp(0.0, 1.0)
    total = maps.new_zeros(())
    for dy_ in range(-min(radius, h - 1), min(radius, h - 1) + 1):
        for dx_ in range(-min(radius, w - 1), min(radius, w - 1) + 1):
            if dy_ == 0 and dx_ == 0:
                continue  # dy = 0 for a pixel with itself
            # pixel i at (r, s) and j at (r + dy_, s + dx_), both inside
            ys, ye = max(0, -dy_), h - max(0, dy_)
            xs, xe = max(0, -dx_), w - max(0, dx_)
            yi = maps[:, :, ys:ye, xs:xe]
            yj = maps[:, :, ys + dy_ : ye + dy_, xs + dx_ : xe + dx_]
            ci = image[:, :, ys:ye, xs:xe]
            cj = image[:, :, ys + dy_ : ye + dy_, xs + dx_ : xe + dx_]
            colour = colour_distance_weight((ci - cj).abs().mean(dim=1), mu)
            score = 0.5 * (yi - yj).pow(2).sum(dim=1)  # over the K maps
            spatial = gaussian_weight(float(dy_ * dy_ + dx_ * dx_), sigma)
            total = total + spatial * (score * colour).sum()
    return -total / (n * h * w)


def dense_feature_similarity_loss(
    image: torch.Tensor,
    maps: torch.Tensor,
    mu: float = 2.5,
    sigma: float = 5.0,
) -> torch.Tensor:
    """The published dense form of :func:`feature_similarity_loss` (all pixel
    pairs, ``(hw)^2`` memory): the reference for small maps."""
    _check(image, maps, sigma)
    n, _, h, w = maps.shape
    y = maps.flatten(2)  # (N, K, hw)
    colours = image.clamp(0.0, 1.0).flatten(2)  # (N, 3, hw)
    dx = (colours[:, :, :, None] - colours[:, :, None, :]).abs().mean(dim=1)
    weight = colour_distance_weight(dx, mu)  # (N, hw, hw)
    ys, xs = torch.meshgrid(torch.arange(h), torch.arange(w), indexing='ij')
    pos = torch.stack([ys.flatten(), xs.flatten()], dim=1).float()
    dp = gaussian_weight(torch.cdist(pos, pos).pow(2), sigma).to(maps)  # (hw, hw)
    dy = 0.5 * (y[:, :, :, None] - y[:, :, None, :]).pow(2).sum(dim=1)  # (N, hw, hw)
    return -(dp * dy * weight).sum() / (n * h * w)


def importance_sampling_loss(
    logits: torch.Tensor,
    targets: torch.Tensor,
    num_samples: int = 10,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """HFPL's importance-sampling classification loss.

    For every image and class, ``num_samples`` pixel positions are drawn (with
    replacement) with probability proportional to the pixel's sigmoid plus
    1e-5; the multilabel soft margin loss is applied to each sampled logit
    against the image's label for the class (the mean over images, classes and
    samples).

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
        weights = torch.sigmoid(flat.float()).reshape(n * c, -1) + 1e-5
        picks = torch.multinomial(weights, num_samples, True, generator=generator)
    sampled = flat.reshape(n * c, -1).gather(1, picks.to(flat.device))
    sampled = sampled.view(n, c, num_samples)
    expanded = targets[:, :, None].expand_as(sampled).to(sampled.dtype)
    return F.binary_cross_entropy_with_logits(sampled, expanded)
