"""WISE pseudo instances: one proposal per class peak (Laradji et al., BMVC 2019).

For each peak of a class the image is labelled with, the proposal with the
highest objectness among those that contain the peak's pixel becomes an
instance of that class; instances of a class that overlap (mask IoU above
``nms_iou``, e.g. two peaks on one object that picked the same proposal) keep
the one of the strongest peak.
"""

from __future__ import annotations

from collections import Counter

import numpy as np


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 0.0


def wise_instances(
    peaks,
    masks: np.ndarray,
    scores: np.ndarray,
    labels,
    nms_iou: float = 0.3,
) -> tuple[list[dict], Counter]:
    """Instances of an image from its class peaks and proposals.

    Args:
        peaks: ``(class, y, x, score)`` tuples at the proposals' resolution
            (e.g. from :func:`mmwsss.ops.peaks.find_peaks`).
        masks (np.ndarray): ``(P, H, W)`` bool proposals.
        scores (np.ndarray): ``(P,)`` their objectness.
        labels: The image's classes (peaks of other classes are dropped).
        nms_iou (float): Mask IoU above which a weaker instance of the same
            class is dropped. Default: 0.3 (PRM's proposal NMS).

    Returns:
        tuple: the instances (``label``, ``score``: the peak's, ``mask``,
        ``objectness``), strongest first; and counts of what was skipped
        (``peak_of_unlabelled_class``, ``peak_without_proposal``,
        ``duplicate``).
    """
    if len(masks) != len(scores):
        raise ValueError(f'{len(masks)} proposals but {len(scores)} scores')
    labels = {int(c) for c in labels}
    skipped = Counter()
    chosen = []
    for cls, y, x, peak_score in sorted(peaks, key=lambda p: -p[3]):
        if int(cls) not in labels:
            skipped['peak_of_unlabelled_class'] += 1
            continue
        if len(masks) == 0:
            skipped['peak_without_proposal'] += 1
            continue
        containing = np.nonzero(masks[:, int(y), int(x)])[0]
        if len(containing) == 0:
            skipped['peak_without_proposal'] += 1
            continue
        best = containing[np.argmax(scores[containing])]
        mask = masks[best]
        if any(
            inst['label'] == int(cls) and mask_iou(inst['mask'], mask) > nms_iou
            for inst in chosen
        ):
            skipped['duplicate'] += 1
            continue
        chosen.append(
            dict(
                label=int(cls),
                score=float(peak_score),
                mask=mask,
                objectness=float(scores[best]),
            )
        )
    return chosen, skipped
