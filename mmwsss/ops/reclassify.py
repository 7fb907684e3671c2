"""Pixel reclassification by foreground / background prototypes (PtReCl).

For a class present in the image, each pixel's feature is compared (cosine
similarity) with the class's K foreground and K background prototypes; the
similarities are sorted in descending order and the top ``m`` decide: the
pixel's foreground score is the foreground share of the votes of its ``m``
most similar prototypes, each vote weighted by its cluster's share of its side
(fg or bg) of the class's pixels, so that a prototype of 2% of the foreground
does not count as much as one of 30% (``weights=None``: one vote each). The
score lies in [0, 1]; above 0.5 the class wins the pixel (the reclassification
map), and :func:`score_maps` turns the scores into the maps IRN's walk takes
instead of the CAMs (PtReCl's step 6).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

#: What :func:`score_maps` writes for IRN's walk.
SCORE_MAPS = ('decision', 'margin', 'share')


def prototype_votes(
    features: torch.Tensor,
    fg: torch.Tensor,
    bg: torch.Tensor,
    top_m: int,
    fg_sizes: torch.Tensor | None = None,
    bg_sizes: torch.Tensor | None = None,
) -> torch.Tensor:
    """Foreground share of the votes of each pixel's ``top_m`` nearest prototypes.

    Args:
        features (Tensor): Pixel features, ``(D, h, w)``.
        fg (Tensor): Foreground prototypes of one class, ``(K_fg, D)``.
        bg (Tensor): Background prototypes of the class, ``(K_bg, D)``.
        top_m (int): Number of most similar prototypes that vote; at most
            ``K_fg + K_bg``.
        fg_sizes / bg_sizes (Tensor, optional): ``(K_fg,)`` / ``(K_bg,)``
            cluster sizes; a prototype's vote weighs its size over its side's
            total (each side's weights sum to 1). Both or neither; neither:
            every prototype one vote.

    Returns:
        Tensor: ``(h, w)`` float scores in [0, 1].

    Raises:
        ValueError: On empty prototype sets, a ``top_m`` out of range or sizes
            that do not match the prototypes.
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
    device = pixels.device
    prototypes = F.normalize(torch.cat([fg, bg]).float().to(device), dim=1)
    weights = _vote_weights(len(fg), len(bg), fg_sizes, bg_sizes).to(device)
    is_fg = torch.zeros(total, device=device)
    is_fg[: len(fg)] = 1.0
    similarity = pixels @ prototypes.t()  # [hw, K_fg + K_bg]
    top = similarity.topk(top_m, dim=1).indices  # [hw, m]
    voted = weights[top]  # [hw, m]
    share = (voted * is_fg[top]).sum(dim=1) / voted.sum(dim=1).clamp_min(1e-12)
    return share.reshape(h, w)


def _vote_weights(n_fg, n_bg, fg_sizes, bg_sizes) -> torch.Tensor:
    """``(n_fg + n_bg,)`` vote weights: sizes over their side's total, or 1."""
    if fg_sizes is None and bg_sizes is None:
        return torch.ones(n_fg + n_bg)
    if fg_sizes is None or bg_sizes is None:
        raise ValueError('give the cluster sizes of both sides, or of neither')
    parts = []
    for name, sizes, n in (('fg', fg_sizes, n_fg), ('bg', bg_sizes, n_bg)):
        sizes = torch.as_tensor(sizes, dtype=torch.float).reshape(-1).cpu()
        if len(sizes) != n or (sizes < 0).any() or not sizes.sum() > 0:
            raise ValueError(
                f'{name} cluster sizes {sizes.tolist()} do not fit {n} prototypes '
                '(one non-negative size each, not all 0)'
            )
        parts.append(sizes / sizes.sum())
    return torch.cat(parts)


def reclassify(
    features: torch.Tensor,
    classes: torch.Tensor,
    fg_prototypes: torch.Tensor,
    bg_prototypes: torch.Tensor,
    fg_counts: torch.Tensor,
    bg_counts: torch.Tensor,
    top_m: int,
    fg_sizes: torch.Tensor | None = None,
    bg_sizes: torch.Tensor | None = None,
) -> torch.Tensor:
    """The foreground scores of an image's classes.

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
        fg_sizes / bg_sizes (Tensor, optional): ``(C + 1, K)`` cluster sizes
            (vote weights, see :func:`prototype_votes`); None: one vote each.

    Returns:
        Tensor: ``(len(classes), h, w)`` scores in [0, 1]; a class without
        prototypes (never in a pseudo mask) scores 0 everywhere.
    """
    maps = features.new_zeros((len(classes), *features.shape[1:]), dtype=torch.float)
    weighted = fg_sizes is not None or bg_sizes is not None
    for i, c in enumerate(classes.tolist()):
        n_fg, n_bg = int(fg_counts[c]), int(bg_counts[c])
        if n_fg == 0 or n_bg == 0:
            continue
        maps[i] = prototype_votes(
            features,
            fg_prototypes[c, :n_fg],
            bg_prototypes[c, :n_bg],
            min(top_m, n_fg + n_bg),
            fg_sizes[c, :n_fg] if weighted else None,
            bg_sizes[c, :n_bg] if weighted else None,
        )
    return maps


def score_maps(share: torch.Tensor, kind: str = 'decision') -> torch.Tensor:
    """What IRN's walk takes in place of an image's CAMs.

    IRN's walk propagates class maps that are near 0 on background (CAMs,
    max-normalised), then cuts the walked scores at a background score (0.25
    in IRN). A vote share is not such a map: a background pixel whose top-m
    holds a few foreground prototypes keeps a floor of, say, 0.3, which the
    walk spreads and the cut keeps.

    Args:
        share (Tensor): ``(K, H, W)`` foreground shares of the image's classes
            (:func:`reclassify`, on the image grid).
        kind (str): 'decision': PtReCl's reclassification map, each pixel's
            class (the highest share above 0.5; none: background) as one 0 / 1
            map per class; 'margin': ``max(2 share - 1, 0)``, the majority's
            lead (0 where the class has no majority, 1 where every vote is
            foreground); 'share': the shares as they are (the comparison).
            Default: 'decision'.

    Returns:
        Tensor: ``(K, H, W)`` float maps in [0, 1].
    """
    if kind not in SCORE_MAPS:
        raise ValueError(f'kind must be one of {SCORE_MAPS}, got {kind!r}')
    if kind == 'share':
        return share.float()
    if kind == 'margin':
        return (2 * share.float() - 1).clamp_min(0)
    maps = torch.zeros_like(share, dtype=torch.float)
    if len(share):
        best, arg = share.max(dim=0)
        maps.scatter_(0, arg[None], (best > 0.5).float()[None])
    return maps
