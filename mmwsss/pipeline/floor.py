"""The floor every seed and pseudo mask must beat: predicting background."""

from __future__ import annotations

import numpy as np
from PIL import Image


def all_background_miou(seg_paths: list[str], num_classes: int) -> float:
    """mIoU (%) of predicting background everywhere, the floor a seed must beat.

    Background IoU is its pixel share; every present foreground class scores 0.
    """
    bg = total = 0
    present = np.zeros(num_classes, dtype=bool)
    for path in seg_paths:
        mask = np.asarray(Image.open(path))
        valid = mask != 255
        total += int(valid.sum())
        bg += int((mask[valid] == 0).sum())
        present[np.unique(mask[valid])] = True
    present[0] = True
    return 100.0 * (bg / max(total, 1)) / int(present.sum())
