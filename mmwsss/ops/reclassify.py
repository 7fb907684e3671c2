"""Pixel reclassification by foreground / background prototypes (PtReCl).

For a class present in the image, each pixel's feature is compared (cosine
similarity) with the class's K foreground and K background prototypes; the
similarities are sorted in descending order and the top ``m`` decide: the
pixel's foreground score is the share of foreground prototypes among its ``m``
most similar prototypes. The score lies in [0, 1], 0.5 being a tie, and is
written in the CAM seed format so that IRN's walk can take it instead of the
CAM (PtReCl's step 6).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def prototype_votes(
    features: torch.Tensor, fg: torch.Tensor, bg: torch.Tensor, top_m: int
) -> torch.Tensor:
    """Foreground share among each pixel's ``top_m`` most similar prototypes.

    Args:
        features (Tensor): Pixel features, ``(D, h, w)``.
        fg (Tensor): Foreground prototypes of one class, ``(K_fg, D)``.
        bg (Tensor): Background prototypes of the class, ``(K_bg, D)``.
        top_m (int): Number of most similar prototypes that vote; at most
            ``K_fg + K_bg``.

    Returns:
        Tensor: ``(h, w)`` float scores in [0, 1].

    Raises:
        ValueError: On empty prototype sets or a ``top_m`` out of range.
    """
    if features.dim() != 3:
        raise ValueError(f'features must be (D, h, w), got {tuple(features.shape)}')
    if len(fg) == 0 or len(bg) == 0:
        raise ValueError(
            f'a class needs foreground and background prototypes, got {len(fg)} '
            f'and {len(bg)}'
        )
    total = len(fg) + len(bg)
    if not 1 <= top_m <= total:
        raise ValueError(f'top_m must lie in 1..{total} (the prototypes), got {top_m}')
    dim, h, w = features.shape
    pixels = F.normalize(features.reshape(dim, -1).t().float(), dim=1)
    prototypes = F.normalize(torch.cat([fg, bg]).float().to(pixels.device), dim=1)
    similarity = pixels @ prototypes.t()  # (hw, K_fg + K_bg)
    is_fg = torch.zeros(total, device=pixels.device)
    is_fg[: len(fg)] = 1.0
    top = similarity.topk(top_m, dim=1).indices
    return is_fg[top].mean(dim=1).reshape(h, w)


def reclassify(
    features: torch.Tensor,
    classes: torch.Tensor,
    fg_prototypes: torch.Tensor,
    bg_prototypes: torch.Tensor,
    fg_counts: torch.Tensor,
    bg_counts: torch.Tensor,
    top_m: int,
) -> torch.Tensor:
    """The reclassification maps of an image's classes.

    Args:
        features (Tensor): ``(D, h, w)`` features of the image.
        classes (Tensor): Its foreground classes (segmentation indices, 1..C).
        fg_prototypes / bg_prototypes (Tensor): ``(C + 1, K, D)`` prototypes by
            segmentation class (row 0, background, unused), padded past each
            class's count.
        fg_counts / bg_counts (Tensor): ``(C + 1,)`` number of valid prototypes
            of each class.
        top_m (int): See :func:`prototype_votes` (clipped to a class's number
            of prototypes when it has fewer).

    Returns:
        Tensor: ``(len(classes), h, w)`` scores in [0, 1]; a class without
        prototypes (never in a pseudo mask) scores 0 everywhere.
    """
    maps = features.new_zeros((len(classes), *features.shape[1:]), dtype=torch.float)
    for i, c in enumerate(classes.tolist()):
        n_fg, n_bg = int(fg_counts[c]), int(bg_counts[c])
        if n_fg == 0 or n_bg == 0:
            continue
        maps[i] = prototype_votes(
            features,
            fg_prototypes[c, :n_fg],
            bg_prototypes[c, :n_bg],
            min(top_m, n_fg + n_bg),
        )
    return maps
