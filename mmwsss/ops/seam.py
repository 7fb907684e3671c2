"""SEAM's pixel correlation module and equivariance losses (Wang et al., CVPR 2020).

SEAM trains the CAM classifier on two views of an image (the image and a
rescaled copy) and asks their CAMs to agree after undoing the rescaling
(equivariant regularisation, ER). Its pixel correlation module (PCM) revises a
CAM with the affinities of the pixels' features, and the revised CAM of one
view is pulled towards the CAM of the other (equivariant cross regularisation,
ECR). The functions follow SEAM's reference code (YudeWang/SEAM):

- :func:`max_norm`: its ``max_norm``, min-max per map after a ReLU, used on the
  CAMs that ER and ECR compare and on the revised CAMs before ECR;
- :func:`pcm_input`: the map PCM revises, built inside SEAM's network without
  the image labels: max-normalised CAMs, background ``1 - max``, each pixel's
  top class only;
- :func:`max_onehot`: ECR's target keeps each pixel's top class only;
- :func:`adaptive_min_pooling_loss`: the lowest quarter of the revised CAM's
  per-pixel maximum pushed to 0.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def max_norm(maps: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """SEAM's ``max_norm``: per map of ``(N, K, h, w)``, ReLU, then
    ``relu(x - min - eps) / (max - min + eps)`` (so each map spans [0, 1);
    gradients pass through the minimum and maximum)."""
    x = F.relu(maps)
    flat = x.flatten(2)
    high = flat.amax(dim=2)[:, :, None, None]
    low = flat.amin(dim=2)[:, :, None, None]
    return F.relu(x - low - eps) / (high - low + eps)


def add_background(fg: torch.Tensor) -> torch.Tensor:
    """``(N, C, h, w)`` normalised foreground maps with SEAM's background map
    ``1 - max_c`` prepended: ``(N, C + 1, h, w)``."""
    return torch.cat([1.0 - fg.amax(dim=1, keepdim=True), fg], dim=1)


def seam_maps(cams: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The maps SEAM's ER and ECR compare (and HFPL's feature similarity loss
    reads): :func:`max_norm` of the CAM logits, times the image labels (the
    maps of absent classes are zero and pass no gradient), with the background
    ``1 - max`` of those first, ``(N, C + 1, h, w)``.

    Args:
        cams (Tensor): ``(N, C, h, w)`` CAM logits.
        labels (Tensor): ``(N, C)`` multi-hot image labels.
    """
    if labels.shape != cams.shape[:2]:
        raise ValueError(
            f'labels {tuple(labels.shape)} must be (N, C) of cams {tuple(cams.shape)}'
        )
    fg = max_norm(cams) * labels.to(cams.dtype)[:, :, None, None]
    return add_background(fg)


def pcm_input(cams: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """The map PCM revises, as SEAM's network builds it (no gradient, no
    labels): ``relu(cam - eps) / (max + eps)`` per map (after a ReLU), the
    background ``1 - max`` of all the foreground maps, then each pixel keeps
    its top foreground class only (ties kept), ``(N, C + 1, h, w)``.

    Args:
        cams (Tensor): ``(N, C, h, w)`` CAM logits.
    """
    with torch.no_grad():
        x = F.relu(cams.detach())
        peak = x.flatten(2).amax(dim=2)[:, :, None, None] + eps
        fg = F.relu(x - eps) / peak
        bg = 1.0 - fg.amax(dim=1, keepdim=True)
        fg = torch.where(fg < fg.amax(dim=1, keepdim=True), 0.0, fg)
        return torch.cat([bg, fg], dim=1)


def max_onehot(maps: torch.Tensor) -> torch.Tensor:
    """SEAM's ``max_onehot`` of ``(N, C + 1, h, w)`` maps (background first):
    the foreground maps keep each pixel's top value only (ties kept, others
    zeroed); the background map is kept. Returns a new tensor."""
    fg = maps[:, 1:]
    fg = torch.where(fg != fg.amax(dim=1, keepdim=True), 0.0, fg)
    return torch.cat([maps[:, :1], fg], dim=1)


def pcm_affinity(features: torch.Tensor) -> torch.Tensor:
    """Row-normalised pixel affinities ``(N, hw, hw)`` of ``(N, D, h, w)``
    features: ``relu(f_i . f_j)`` of the L2-normalised features, each row
    divided by its sum."""
    f = F.normalize(features.flatten(2), dim=1, eps=1e-5)  # (N, D, hw)
    affinity = F.relu(torch.bmm(f.transpose(1, 2), f))  # (N, hw, hw)
    return affinity / (affinity.sum(dim=2, keepdim=True) + 1e-5)


def pcm_revise(cams: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
    """The revised CAMs: each pixel's maps as the affinity-weighted mean of all
    pixels' maps, ``revised[k, i] = sum_j A[i, j] cam[k, j]``.

    Args:
        cams (Tensor): ``(N, K, h, w)`` maps (e.g. :func:`pcm_input`), at the
            features' size.
        features (Tensor): ``(N, D, h, w)`` PCM features.
    """
    n, k, h, w = cams.shape
    if features.shape[-2:] != (h, w):
        raise ValueError(
            f'cams {tuple(cams.shape)} and features {tuple(features.shape)} must '
            'share the grid'
        )
    affinity = pcm_affinity(features)
    revised = torch.bmm(cams.flatten(2), affinity.transpose(1, 2))
    return revised.view(n, k, h, w)


def equivariance_loss(cam_a: torch.Tensor, cam_b: torch.Tensor) -> torch.Tensor:
    """SEAM's ER: mean absolute difference of two views' CAMs, aligned (the
    caller rescales one view's maps to the other's grid)."""
    if cam_a.shape != cam_b.shape:
        raise ValueError(f'aligned views differ: {cam_a.shape} vs {cam_b.shape}')
    return (cam_a - cam_b).abs().mean()


def top_fraction_l1(a: torch.Tensor, b: torch.Tensor, fraction: float = 0.2):
    """Mean of the largest ``int(fraction * K h w)`` values of ``|a - b|`` per
    image (SEAM's ECR term: the pixels where the two disagree most)."""
    if not 0 < fraction <= 1:
        raise ValueError(f'fraction must lie in (0, 1], got {fraction}')
    diff = (a - b).abs().flatten(1)
    k = max(1, int(fraction * diff.shape[1]))
    return diff.topk(k, dim=1).values.mean()


def ecr_loss(
    revised_a: torch.Tensor,
    maps_b: torch.Tensor,
    revised_b: torch.Tensor,
    maps_a: torch.Tensor,
    fraction: float = 0.2,
) -> torch.Tensor:
    """SEAM's ECR in both directions: the revised CAM of each view (already
    :func:`max_norm`-ed, background first) against :func:`max_onehot` of the
    other view's aligned :func:`seam_maps`, detached (ECR trains PCM; the CAMs
    learn from ER and the classification), on the top ``fraction`` of
    differences."""
    return top_fraction_l1(
        revised_a, max_onehot(maps_b.detach()), fraction
    ) + top_fraction_l1(revised_b, max_onehot(maps_a.detach()), fraction)


def adaptive_min_pooling_loss(revised_fg: torch.Tensor) -> torch.Tensor:
    """SEAM's adaptive min-pooling loss on ``(N, C, h, w)`` revised foreground
    maps (label-masked, not renormalised): per pixel the maximum over the
    classes, the lowest ``h w // 4`` of them per image, ReLU, mean. It pushes
    the quarter of the image PCM is least sure of towards background; SEAM's
    code notes it leaves the best score unchanged but shifts the best
    background threshold."""
    n = revised_fg.shape[0]
    per_pixel = revised_fg.amax(dim=1).flatten(1)  # (N, hw)
    k = max(1, per_pixel.shape[1] // 4)
    lowest = per_pixel.topk(k, dim=1, largest=False).values
    return F.relu(lowest).sum() / (k * n)
