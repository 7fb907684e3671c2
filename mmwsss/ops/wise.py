"""Instances from class peaks and proposals: PRM's retrieval, WISE's rule.

For each peak of a class the image is labelled with, the proposal that
PRM's retrieval score (Zhou et al., CVPR 2018) ranks first becomes an
instance of that class:

    score = alpha * R(mask) + R(contour) - beta * |Q & mask| / |image|

with ``R`` the peak's response map (its peak response map, summing to 1),
``R(mask)`` its sum inside the proposal (the instance-aware term), ``R(contour)``
its sum on the proposal's contour (the boundary-aware term: the morphological
gradient of the mask with a ``contour_width`` square, PRM's 5), and ``Q`` the
class's background (pixels where the class response map, upsampled bicubically,
is below ``bg_factor`` times its mean: the class-aware term). PRM's parameters
are ``alpha = 0.8``, ``bg_factor = 0.95`` and ``beta = 1e-5`` per pixel at its
448 x 448 input; here the penalty is a fraction of the image, so ``beta =
1e-5 * 448 * 448 = 2.0`` weighs it alike at any image size.

Which proposals compete for a peak:

- ``candidates='all'`` (PRM's retrieval): every proposal whose area is within
  ``size_limits`` of the image's (PRM's 0.00002 and 0.85); the peak need not
  lie in it, its response map decides. PRM's peaks are several per object and
  its class-agnostic NMS keeps one instance of each.
- ``candidates='holding'``: only the proposals that contain the peak's pixel.
  With ``one_point`` (WISE, Laradji et al., BMVC 2019, whose points are one per
  object), a proposal holding another peak's point is no candidate either.
  Where a class map has several peaks on one object, the rule leaves that
  object's whole-object proposals to none of them (each holds the others).

The instances then pass PRM's class-agnostic NMS, ordered by the retrieval
score: an instance whose mask overlaps a better-scored one's at IoU
``nms_iou`` (0.3) or more is dropped, whatever its class.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F

#: PRM's retrieval parameters: alpha, beta (per image area), bg_factor, the
#: contour width and the proposals' area limits (fractions of the image).
PRM_RETRIEVAL = dict(
    alpha=0.8, beta=2.0, bg_factor=0.95, contour_width=5, size_limits=(2e-5, 0.85)
)
#: Which proposals compete for a peak (module doc).
CANDIDATES = ('all', 'holding')


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 0.0


def mask_ious(a: np.ndarray, b: np.ndarray, chunk: int = 64) -> np.ndarray:
    """IoU of every mask of ``a`` ``(N, H, W)`` with every mask of ``b``
    ``(M, H, W)`` (bool), as ``(N, M)``; 0 where both are empty."""
    out = np.zeros((len(a), len(b)))
    if not len(a) or not len(b):
        return out
    a = a.reshape(len(a), -1)
    b = b.reshape(len(b), -1)
    bf = b.astype(np.float32)
    b_area = bf.sum(axis=1)
    for start in range(0, len(a), chunk):
        af = a[start : start + chunk].astype(np.float32)
        inter = af @ bf.T
        union = af.sum(axis=1)[:, None] + b_area[None] - inter
        out[start : start + chunk] = np.where(
            union > 0, inter / np.maximum(union, 1), 0
        )
    return out


def _square_filter(masks: np.ndarray, radius: int, dilate: bool) -> np.ndarray:
    """Dilation (or erosion) of ``(N, H, W)`` bool masks by a ``2 * radius +
    1`` square, separably along each axis; outside the image counts as
    False for the dilation and True for the erosion (OpenCV's border)."""
    out = masks
    for axis in (1, 2):
        src, out = out, out.copy()
        for shift in range(1, radius + 1):
            lead = [slice(None)] * 3
            trail = [slice(None)] * 3
            lead[axis], trail[axis] = slice(shift, None), slice(None, -shift)
            lead, trail = tuple(lead), tuple(trail)
            if dilate:
                out[lead] |= src[trail]
                out[trail] |= src[lead]
            else:
                out[lead] &= src[trail]
                out[trail] &= src[lead]
    return out


def contours(masks: np.ndarray, width: int = 5) -> np.ndarray:
    """Contour bands of ``(N, H, W)`` bool masks: dilation minus erosion by a
    ``width`` x ``width`` square (OpenCV's morphological gradient, as PRM's,
    with OpenCV's border: outside the image neither dilates nor erodes)."""
    if width < 1 or width % 2 == 0:
        raise ValueError(f'contour width must be a positive odd number, got {width}')
    masks = np.asarray(masks, bool)
    radius = width // 2
    return _square_filter(masks, radius, True) & ~_square_filter(masks, radius, False)


def background_mask(
    class_map: np.ndarray, size: Sequence[int], bg_factor: float = 0.95
) -> np.ndarray:
    """PRM's background of a class: where its response map, resized
    bicubically to ``size``, is below ``bg_factor`` times its mean."""
    t = torch.from_numpy(np.asarray(class_map, np.float32))[None, None]
    up = F.interpolate(t, size=tuple(size), mode='bicubic', align_corners=False)[0, 0]
    return (up < bg_factor * up.mean()).numpy()


def retrieval_terms(
    responses: np.ndarray,
    masks: np.ndarray,
    backgrounds: np.ndarray,
    contour_width: int = 5,
    chunk: int = 64,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The three terms of PRM's retrieval score for every proposal and peak.

    Args:
        responses (np.ndarray): ``(P, H, W)`` peak response maps.
        masks (np.ndarray): ``(N, H, W)`` bool proposals.
        backgrounds (np.ndarray): ``(B, H, W)`` bool class backgrounds.
        contour_width (int): Contour band width. Default: 5.
        chunk (int): Proposals per matrix product (memory). Default: 64.

    Returns:
        tuple: ``(N, P)`` response inside each proposal, ``(N, P)`` response
        on its contour, ``(N, B)`` fraction of the image that is background
        and inside it.
    """
    n = len(masks)
    r = responses.reshape(len(responses), -1).astype(np.float32).T  # [HW, P]
    q = backgrounds.reshape(len(backgrounds), -1).astype(np.float32).T  # [HW, B]
    inside = np.zeros((n, r.shape[1]), np.float32)
    on_contour = np.zeros((n, r.shape[1]), np.float32)
    covered = np.zeros((n, q.shape[1]), np.float32)
    for start in range(0, n, chunk):
        part = masks[start : start + chunk]
        flat = part.reshape(len(part), -1).astype(np.float32)
        band = contours(part, contour_width).reshape(len(part), -1)
        inside[start : start + chunk] = flat @ r
        on_contour[start : start + chunk] = band.astype(np.float32) @ r
        covered[start : start + chunk] = flat @ q
    return inside, on_contour, covered / (masks.shape[1] * masks.shape[2])


def retrieval_scores(
    response: np.ndarray,
    masks: np.ndarray,
    background: np.ndarray,
    alpha: float = 0.8,
    beta: float = 2.0,
    contour_width: int = 5,
) -> np.ndarray:
    """PRM's retrieval score of each proposal for one peak (module doc).

    Args:
        response (np.ndarray): ``(H, W)`` the peak's response map.
        masks (np.ndarray): ``(N, H, W)`` bool proposals.
        background (np.ndarray): ``(H, W)`` bool background of its class.
        alpha (float): Weight of the response inside. Default: 0.8.
        beta (float): Weight of the background covered, as a fraction of the
            image. Default: 2.0.
        contour_width (int): Contour band width. Default: 5.

    Returns:
        np.ndarray: ``(N,)`` scores.
    """
    inside, on_contour, covered = retrieval_terms(
        response[None], masks, background[None], contour_width
    )
    return alpha * inside[:, 0] + on_contour[:, 0] - beta * covered[:, 0]


def wise_instances(
    peaks: Sequence[tuple],
    responses: np.ndarray | Sequence[np.ndarray],
    masks: np.ndarray,
    objectness: np.ndarray,
    labels,
    backgrounds: Mapping[int, np.ndarray],
    alpha: float = 0.8,
    beta: float = 2.0,
    contour_width: int = 5,
    one_point: bool = False,
    nms_iou: float = 0.3,
    candidates: str = 'all',
    size_limits: Sequence[float] | None = PRM_RETRIEVAL['size_limits'],
) -> tuple[list[dict], Counter]:
    """Instances of an image from its class peaks and proposals.

    Args:
        peaks (Sequence[tuple]): ``(class, y, x, score)`` per peak, at the
            proposals' resolution.
        responses (np.ndarray | Sequence[np.ndarray]): each peak's ``(H, W)``
            response map.
        masks (np.ndarray): ``(N, H, W)`` bool proposals.
        objectness (np.ndarray): ``(N,)`` their objectness (recorded).
        labels: The image's classes (peaks of other classes are dropped).
        backgrounds (Mapping[int, np.ndarray]): ``(H, W)`` bool background of
            each class (:func:`background_mask`).
        alpha, beta, contour_width: See :func:`retrieval_scores`.
        one_point (bool): WISE's rule: a proposal holding another peak's
            point is no candidate. Default: False (PRM's retrieval).
        nms_iou (float): Mask IoU at which the instance of the lower retrieval
            score is dropped, whatever the classes. Default: 0.3 (PRM's).
        candidates (str): ``'all'`` (PRM's: every proposal) or ``'holding'``
            (those containing the peak's pixel), see the module doc.
            Default: 'all'.
        size_limits (Sequence[float], optional): Proposals are candidates
            where their area is at least the first and below the second
            fraction of the image. Default: PRM's (0.00002, 0.85); None: any.

    Returns:
        tuple: the instances (``label``, ``score``: the peak's, ``mask``,
        ``objectness``, ``retrieval``: the score that chose it), by
        descending retrieval score; and counts of what was skipped
        (``peak_of_unlabelled_class``, ``peak_without_proposal``,
        ``duplicate``).
    """
    if len(masks) != len(objectness):
        raise ValueError(f'{len(masks)} proposals but {len(objectness)} scores')
    if len(responses) != len(peaks):
        raise ValueError(f'{len(peaks)} peaks but {len(responses)} response maps')
    if candidates not in CANDIDATES:
        raise ValueError(f'candidates must be one of {CANDIDATES}, got {candidates!r}')
    labels = {int(c) for c in labels}
    skipped = Counter()
    kept = [i for i, p in enumerate(peaks) if int(p[0]) in labels]
    if len(kept) < len(peaks):
        skipped['peak_of_unlabelled_class'] += len(peaks) - len(kept)
    if not len(masks):
        skipped['peak_without_proposal'] += len(kept)
        return [], skipped
    if not kept:
        return [], skipped
    allowed = np.ones(len(masks), bool)
    if size_limits is not None:
        low, high = size_limits
        area = masks.reshape(len(masks), -1).mean(axis=1)
        allowed = (area >= low) & (area < high)
    points = sorted({(int(peaks[i][1]), int(peaks[i][2])) for i in kept})
    ys, xs = np.array(points).T
    points_held = masks[:, ys, xs].sum(axis=1)  # [N]
    classes = sorted({int(peaks[i][0]) for i in kept})
    inside, on_contour, covered = retrieval_terms(
        np.stack([np.asarray(responses[i], np.float32) for i in kept]),
        masks,
        np.stack([backgrounds[c] for c in classes]),
        contour_width,
    )
    found = []
    for j, i in enumerate(kept):
        cls, y, x, peak_score = peaks[i]
        holds = masks[:, int(y), int(x)]
        ok = allowed & holds if candidates == 'holding' else allowed.copy()
        if one_point:
            ok &= points_held - holds == 0  # no other peak's point
        if not ok.any():
            skipped['peak_without_proposal'] += 1
            continue
        scores = (
            alpha * inside[:, j]
            + on_contour[:, j]
            - beta * covered[:, classes.index(int(cls))]
        )
        best = int(np.argmax(np.where(ok, scores, -np.inf)))
        found.append(
            dict(
                label=int(cls),
                score=float(peak_score),
                mask=masks[best],
                objectness=float(objectness[best]),
                retrieval=float(scores[best]),
            )
        )
    found.sort(key=lambda inst: -inst['retrieval'])
    chosen = []
    for inst in found:
        if any(mask_iou(c['mask'], inst['mask']) >= nms_iou for c in chosen):
            skipped['duplicate'] += 1
            continue
        chosen.append(inst)
    return chosen, skipped
