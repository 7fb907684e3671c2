"""SEAM's pixel correlation module and equivariance losses (Wang et al., CVPR 2020).

SEAM trains the CAM classifier on two views of an image (the image and a
rescaled copy) and asks their CAMs to agree after undoing the rescaling
(equivariant regularisation, ER). Its pixel correlation module (PCM) revises a
CAM with the affinities of the pixels' features, and the revised CAM of one
view is pulled towards the CAM of the other (equivariant cross regularisation,
ECR).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def with_background(
    cams: torch.Tensor, labels: torch.Tensor | None = None
) -> torch.Tensor:
    """Max-normalised CAMs ``(N, C, h, w)`` with a background map first:
    ``1 - max_c`` of the foreground maps, giving ``(N, C + 1, h, w)``.

    Args:
        cams (Tensor): ``(N, C, h, w)`` CAM logits.
        labels (Tensor, optional): ``(N, C)`` multi-hot image labels: the
            maps of the classes an image lacks are zeroed before the
            background is taken, as SEAM does (its CAMs are multiplied by the
            label before ``1 - max``). Without it every class counts: an
            absent class's tiny map, normalised by its own tiny maximum,
            reaches 1 somewhere and would both hide the background there and
            pass gradients scaled by ``1 / max`` into that class (measured on
            the bench set: the classification loss then climbs from 0.6 to 8
            within 40 iterations).
    """
    fg = F.relu(cams)
    fg = fg / fg.flatten(2).amax(dim=2).clamp(min=1e-5)[:, :, None, None]
    if labels is not None:
        if labels.shape != cams.shape[:2]:
            raise ValueError(
                f'labels {tuple(labels.shape)} must be (N, C) of cams '
                f'{tuple(cams.shape)}'
            )
        fg = fg * labels.to(fg.dtype)[:, :, None, None]
    bg = 1.0 - fg.amax(dim=1, keepdim=True)
    return torch.cat([bg, fg], dim=1)


def pcm_affinity(features: torch.Tensor) -> torch.Tensor:
    """Row-normalised pixel affinities ``(N, hw, hw)`` of ``(N, D, h, w)``
    features: ``relu(f_i . f_j)`` of the L2-normalised features, each row
    divided by its sum."""
    f = F.normalize(features.flatten(2), dim=1)  # (N, D, hw)
    affinity = F.relu(torch.bmm(f.transpose(1, 2), f))  # (N, hw, hw)
    return affinity / (affinity.sum(dim=2, keepdim=True) + 1e-5)


def pcm_revise(cams: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
    """The revised CAMs: each pixel's maps as the affinity-weighted mean of all
    pixels' maps, ``revised[k, i] = sum_j A[i, j] cam[k, j]``.

    Args:
        cams (Tensor): ``(N, K, h, w)`` maps (e.g. :func:`with_background`),
            at the features' size.
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
    """Mean of the largest ``fraction`` of ``|a - b|`` per image (SEAM's ECR
    term: the pixels where the two disagree most)."""
    if not 0 < fraction <= 1:
        raise ValueError(f'fraction must lie in (0, 1], got {fraction}')
    diff = (a - b).abs().flatten(1)
    k = max(1, int(round(fraction * diff.shape[1])))
    return diff.topk(k, dim=1).values.mean()


def ecr_loss(
    revised_a: torch.Tensor,
    cam_b: torch.Tensor,
    revised_b: torch.Tensor,
    cam_a: torch.Tensor,
    fraction: float = 0.2,
) -> torch.Tensor:
    """SEAM's ECR in both directions: the revised CAM of each view against the
    (aligned) CAM of the other, on the top ``fraction`` of differences."""
    return top_fraction_l1(revised_a, cam_b, fraction) + top_fraction_l1(
        revised_b, cam_a, fraction
    )
