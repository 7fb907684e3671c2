"""Boundary quality of label maps: contour F-score and interior mIoU.

Region scores (mIoU) hardly move when a mask's outline is off by a few pixels,
yet that is exactly what separates refinement methods: a random walk on a
stride-4 grid, a dense CRF at full resolution. Two views of it:

- **Contour F-score** (the boundary F1 of Csurka et al., BMVC 2013, the
  "contour quality" HFPL reports beside mIoU): for each class, the boundary of
  its predicted mask and of its ground-truth mask (mask pixels with a
  4-neighbour outside the mask; the image border is not a boundary). A predicted
  boundary pixel is right when a ground-truth boundary pixel of the class lies
  within ``tol`` pixels (precision), and the other way round (recall). Counts are
  pooled over the images per class; F = 2PR / (P + R) per class, averaged over
  the classes with any boundary. ``tol`` defaults to 0.75% of the image diagonal
  (Csurka et al.'s setting): 2 px at 160 x 160, 5 px on VOC.
- **Interior mIoU**: the mIoU of the pixels farther than ``band`` pixels from any
  ground-truth label change (default 2 * tol). Where it matches another method's
  while the full mIoU does not, the two differ at the outlines only.
"""

from __future__ import annotations

import numpy as np
from mmengine.evaluator import BaseMetric
from scipy import ndimage

from ..registry import METRICS

__all__ = ['ContourCounts', 'default_tolerance', 'label_edges', 'mask_boundary']

_CROSS = ndimage.generate_binary_structure(2, 1)


def default_tolerance(shape: tuple[int, int]) -> int:
    """0.75% of the image diagonal in pixels, at least 1 (Csurka et al.)."""
    return max(1, int(round(0.0075 * float(np.hypot(*shape[:2])))))


def mask_boundary(mask: np.ndarray) -> np.ndarray:
    """Pixels of a binary mask with a 4-neighbour outside it (not the border)."""
    mask = np.asarray(mask, dtype=bool)
    eroded = ndimage.binary_erosion(mask, structure=_CROSS, border_value=1)
    return mask & ~eroded


def label_edges(label: np.ndarray) -> np.ndarray:
    """Pixels whose label differs from a 4-neighbour's (both sides of a change)."""
    label = np.asarray(label)
    edges = np.zeros(label.shape, dtype=bool)
    dy = label[1:, :] != label[:-1, :]
    dx = label[:, 1:] != label[:, :-1]
    edges[1:, :] |= dy
    edges[:-1, :] |= dy
    edges[:, 1:] |= dx
    edges[:, :-1] |= dx
    return edges


def _near(boundary: np.ndarray, tol: int) -> np.ndarray:
    """Pixels within ``tol`` (Euclidean) of a boundary pixel."""
    if not boundary.any():
        return np.zeros(boundary.shape, dtype=bool)
    return ndimage.distance_transform_edt(~boundary) <= tol


class ContourCounts:
    """Pooled per-class contour matches and interior areas over many images.

    Args:
        num_classes (int): Classes including background.
        ignore_index (int): Unlabelled value (255). Its regions have no class
            boundary of their own, but a class mask ends where they begin.
        tol (int, optional): Match distance in pixels. Default: None
            (:func:`default_tolerance` of each image).
        band (int, optional): Half-width of the excluded band around
            ground-truth label changes for the interior mIoU. Default: None
            (2 * the image's ``tol``).
    """

    def __init__(
        self,
        num_classes: int,
        ignore_index: int = 255,
        tol: int | None = None,
        band: int | None = None,
    ) -> None:
        if num_classes < 1:
            raise ValueError(f'num_classes must be positive, got {num_classes}')
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.tol = tol
        self.band = band
        # precision hits, predicted boundary px, recall hits, GT boundary px
        self.counts = np.zeros((4, num_classes), dtype=np.int64)
        # interior intersection, union
        self.interior = np.zeros((2, num_classes), dtype=np.int64)

    def add(self, pred: np.ndarray, gt: np.ndarray) -> None:
        """Count one image's label map against its ground truth (same size)."""
        pred = np.asarray(pred)
        gt = np.asarray(gt)
        if pred.shape != gt.shape:
            raise ValueError(f'sizes differ: prediction {pred.shape}, GT {gt.shape}')
        tol = self.tol if self.tol is not None else default_tolerance(gt.shape)
        band = self.band if self.band is not None else 2 * tol
        for c in np.union1d(np.unique(pred), np.unique(gt)):
            if c == self.ignore_index or not 0 <= c < self.num_classes:
                continue
            pred_b = mask_boundary(pred == c)
            gt_b = mask_boundary(gt == c)
            self.counts[0, c] += int((pred_b & _near(gt_b, tol)).sum())
            self.counts[1, c] += int(pred_b.sum())
            self.counts[2, c] += int((gt_b & _near(pred_b, tol)).sum())
            self.counts[3, c] += int(gt_b.sum())
        edges = label_edges(gt)
        far = ndimage.distance_transform_edt(~edges) > band if edges.any() else None
        inside = gt != self.ignore_index
        if far is not None:
            inside &= far
        p, g = pred[inside], gt[inside]
        for c in range(self.num_classes):
            pc, gc = p == c, g == c
            self.interior[0, c] += int((pc & gc).sum())
            self.interior[1, c] += int((pc | gc).sum())

    def summary(self) -> dict:
        """``contour_F`` / ``contour_P`` / ``contour_R`` (class means, %),
        per-class ``contour_F_per_class`` (NaN: no boundary of the class in
        either) and ``interior_mIoU`` (%)."""
        hits_p, n_p, hits_r, n_r = self.counts.astype(np.float64)
        with np.errstate(divide='ignore', invalid='ignore'):
            precision = np.where(n_p > 0, hits_p / n_p, np.where(n_r > 0, 0.0, np.nan))
            recall = np.where(n_r > 0, hits_r / n_r, np.where(n_p > 0, 0.0, np.nan))
            f = np.where(
                precision + recall > 0,
                2 * precision * recall / (precision + recall),
                0.0,
            )
            f = np.where(np.isnan(precision) | np.isnan(recall), np.nan, f)
            inter, union = self.interior.astype(np.float64)
            iou = np.where(union > 0, inter / union, np.nan)

        def mean(values: np.ndarray) -> float:
            if not np.isfinite(values).any():
                return float('nan')
            return float(np.nanmean(values) * 100)

        return dict(
            contour_F=mean(f),
            contour_P=mean(precision),
            contour_R=mean(recall),
            contour_F_per_class=(f * 100).tolist(),
            interior_mIoU=mean(iou),
        )


@METRICS.register_module()
class ContourFMetric(BaseMetric):
    """Contour F-score (boundary F1) and interior mIoU as an evaluator metric.

    Scores each data sample's ``pred_sem_seg`` against its ``gt_sem_seg`` with
    :class:`ContourCounts` (counts pooled over the images, then the class mean;
    under DDP the per-rank counts are summed), next to mmseg's ``IoUMetric``
    in a config's evaluator list, e.g.
    ``test_evaluator = [dict(type='IoUMetric'), dict(type='ContourFMetric')]``.

    Args:
        num_classes (int, optional): Classes including background; default: the
            dataset's (``dataset_meta['classes']``).
        ignore_index (int): Default: 255.
        tol (int, optional): Match distance in pixels; default 0.75% of the
            image diagonal (:func:`default_tolerance`).
        prefix (str, optional): Metric name prefix. Default: 'contour'.
        collect_device (str): Default: 'cpu'.
    """

    default_prefix = 'contour'

    def __init__(
        self,
        num_classes: int | None = None,
        ignore_index: int = 255,
        tol: int | None = None,
        prefix: str | None = None,
        collect_device: str = 'cpu',
    ) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.tol = tol

    def _classes(self) -> int:
        if self.num_classes is not None:
            return self.num_classes
        classes = (self.dataset_meta or {}).get('classes')
        if not classes:
            raise ValueError(
                'ContourFMetric needs num_classes or a dataset_meta with classes'
            )
        return len(classes)

    def process(self, data_batch, data_samples) -> None:
        counts = ContourCounts(self._classes(), self.ignore_index, self.tol)
        for sample in data_samples:
            pred = _to_numpy(sample['pred_sem_seg']['data']).squeeze(0)
            gt = _to_numpy(sample['gt_sem_seg']['data']).squeeze(0)
            counts.add(pred, gt)
        self.results.append((counts.counts.copy(), counts.interior.copy()))

    def compute_metrics(self, results: list) -> dict:
        total = ContourCounts(self._classes(), self.ignore_index, self.tol)
        for counts, interior in results:
            total.counts += counts
            total.interior += interior
        summary = total.summary()
        return {
            'F': summary['contour_F'],
            'P': summary['contour_P'],
            'R': summary['contour_R'],
            'interior_mIoU': summary['interior_mIoU'],
        }


def _to_numpy(x) -> np.ndarray:
    return x.cpu().numpy() if hasattr(x, 'cpu') else np.asarray(x)
