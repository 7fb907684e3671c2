"""Score a folder of label PNGs (seeds, pseudo masks) against ground truth.

Label PNGs may contain 255 (unsure), as IRN's and AffinityNet's confidence
labels do. Two views are reported:

- ``mIoU`` counts an unsure pixel as wrong: it adds to the union of its GT class
  and never to an intersection (as a class that matches nothing would).
- ``mIoU_labelled``, ``precision`` and ``coverage`` describe the labelled pixels:
  the mIoU and pixel accuracy on GT-valid pixels that got a label, and the share
  of GT-valid pixels that got one.

The IoU arithmetic is mmseg's (:class:`~mmseg.evaluation.IoUMetric`): a class
absent from both the GT and the predictions is NaN and left out of the mean.

Every score is a function of pixel counts summed over the images (int64), so
a distributed run can score a folder sharded: each rank counts its share of
the images, the counts are summed over the ranks (one ``all_reduce``) and
every rank returns the score of one process.
"""

from __future__ import annotations

import os.path as osp
from collections.abc import Sequence

import numpy as np
import torch
from mmengine.dist import all_reduce, get_dist_info
from mmseg.evaluation.metrics import IoUMetric
from PIL import Image

from .contour import ContourCounts


def read_label_png(path: str) -> np.ndarray:
    """A label PNG's values (palette indices), or FileNotFoundError naming it."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path} not found')
    return np.asarray(Image.open(path))


def _areas(
    pred: np.ndarray, gt: np.ndarray, num_classes: int, ignore_index: int
) -> np.ndarray:
    """(4, C) intersection, union, prediction and GT areas of one image (int64;
    mmseg counts them as whole floats)."""
    areas = IoUMetric.intersect_and_union(
        torch.from_numpy(pred), torch.from_numpy(gt), num_classes, ignore_index
    )
    return torch.stack(areas).double().round().long().numpy()


def _miou(areas: np.ndarray) -> tuple[float, list[float], float]:
    """(mIoU %, per-class IoU %, aAcc %) of summed (4, C) areas."""
    metrics = IoUMetric.total_area_to_metrics(
        *torch.from_numpy(areas), metrics=['mIoU']
    )
    iou = np.asarray(metrics['IoU'], dtype=np.float64) * 100
    miou = float(np.nanmean(iou)) if not np.isnan(iou).all() else float('nan')
    return miou, iou.tolist(), float(metrics['aAcc']) * 100


class _Counts:
    """The pixel counts a folder's score is made of, summed over images."""

    def __init__(self, num_classes: int, ignore_index: int, contour: bool) -> None:
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.areas = np.zeros((4, num_classes), dtype=np.int64)
        self.areas_labelled = np.zeros((4, num_classes), dtype=np.int64)
        # GT-valid pixels, those of them labelled, those labelled right
        self.totals = np.zeros(3, dtype=np.int64)
        self.outlines = ContourCounts(num_classes, ignore_index) if contour else None

    def _arrays(self) -> list[np.ndarray]:
        arrays = [self.areas, self.areas_labelled, self.totals]
        if self.outlines is not None:
            arrays += [self.outlines.counts, self.outlines.interior]
        return arrays

    def add(self, pred_path: str, gt_path: str) -> None:
        num_classes, ignore_index = self.num_classes, self.ignore_index
        pred = read_label_png(pred_path).astype(np.int64)
        gt = read_label_png(gt_path).astype(np.int64)
        if pred.shape != gt.shape:
            raise ValueError(
                f'prediction size {pred.shape} of {pred_path} differs from the '
                f'ground-truth size {gt.shape} of {gt_path}'
            )
        for name, path, array in (('prediction', pred_path, pred), ('GT', gt_path, gt)):
            bad = (array >= num_classes) & (array != ignore_index)
            if bad.any():
                raise ValueError(
                    f'{name} {path} holds labels {np.unique(array[bad]).tolist()} '
                    f'outside 0..{num_classes - 1} (num_classes={num_classes})'
                )
        labelled = pred != ignore_index
        self.areas += _areas(pred, gt, num_classes, ignore_index)
        gt_labelled = np.where(labelled, gt, ignore_index)
        self.areas_labelled += _areas(pred, gt_labelled, num_classes, ignore_index)
        valid = gt != ignore_index
        self.totals += [
            int(valid.sum()),
            int((valid & labelled).sum()),
            int((valid & labelled & (pred == gt)).sum()),
        ]
        if self.outlines is not None:
            self.outlines.add(pred, gt)

    def sum_over_ranks(self, error: BaseException | None) -> None:
        """Sum every count over the ranks in one ``all_reduce`` (a collective).

        A rank that failed (``error``) adds a flag instead of leaving the
        others waiting: every rank then raises, that one its own error.
        """
        arrays = self._arrays()
        flat = np.concatenate([[int(error is not None)], *(a.ravel() for a in arrays)])
        total = torch.from_numpy(flat.astype(np.int64))
        all_reduce(total, op='sum')
        if error is not None:
            raise error
        if total[0] > 0:
            raise RuntimeError(
                'scoring the label folder failed on another rank (see its log)'
            )
        offset = 1
        for array in arrays:
            array[...] = (
                total[offset : offset + array.size].numpy().reshape(array.shape)
            )
            offset += array.size

    def summary(self, num_images: int) -> dict:
        with np.errstate(divide='ignore', invalid='ignore'):
            areas = self.areas.astype(np.float64)
            miou, iou, aacc = _miou(areas)
            miou_labelled, iou_labelled, _ = _miou(
                self.areas_labelled.astype(np.float64)
            )
            # areas: intersection, union, prediction, GT (mmseg's order)
            class_precision = 100.0 * areas[0] / areas[2]
            class_recall = 100.0 * areas[0] / areas[3]
        valid_total, labelled_total, correct_total = self.totals.tolist()
        result = dict(
            mIoU=miou,
            IoU=iou,
            aAcc=aacc,
            mIoU_labelled=miou_labelled,
            IoU_labelled=iou_labelled,
            coverage=100.0 * labelled_total / max(valid_total, 1),
            precision=100.0 * correct_total / max(labelled_total, 1),
            mPrecision=float(np.nanmean(class_precision)),
            mRecall=float(np.nanmean(class_recall)),
            num_images=num_images,
        )
        if self.outlines is not None:
            result.update(self.outlines.summary())
        return result


def score_label_dir(
    pred_dir: str,
    gt_dir: str,
    ids: Sequence[str],
    num_classes: int,
    ignore_index: int = 255,
    contour: bool = True,
    shard: bool = False,
) -> dict:
    """mIoU, coverage and precision of ``{pred_dir}/{id}.png`` vs ``{gt_dir}``.

    Args:
        pred_dir (str): Folder of predicted label PNGs (``ignore_index`` = unsure).
        gt_dir (str): Folder of ground-truth label PNGs.
        ids (Sequence[str]): Image ids (file stems) to score.
        num_classes (int): Number of classes including background.
        ignore_index (int): Unlabelled value in both folders. Default: 255.
        contour (bool): Also score the outlines (:mod:`.contour`): contour
            F-score, its precision and recall, and the interior mIoU away from
            the ground truth's label changes. Default: True.
        shard (bool): In a distributed run, count this rank's share of the
            images (``ids[rank::world_size]``) and sum the counts over the
            ranks: every rank must call it, and all return the score of one
            process. Without a process group it changes nothing.
            Default: False.

    Returns:
        dict: ``mIoU`` (%, unsure pixels count as wrong), ``IoU`` (per-class %,
        NaN for classes in neither GT nor predictions), ``aAcc`` (%),
        ``mIoU_labelled`` and ``IoU_labelled`` (on labelled pixels only),
        ``coverage`` (% of GT-valid pixels that got a label), ``precision``
        (% of those labelled pixels that are right), ``mPrecision`` /
        ``mRecall`` (class means of intersection / predicted area and
        intersection / GT area, %: too large masks lose precision, too small
        ones recall), ``num_images`` and, with ``contour``, ``contour_F``,
        ``contour_P``, ``contour_R``, ``contour_F_per_class`` and
        ``interior_mIoU`` (%, see :class:`.contour.ContourCounts`).

    Raises:
        FileNotFoundError: If a PNG is missing.
        ValueError: If sizes differ or a label is outside ``0 .. num_classes - 1``
            and not ``ignore_index``.
        RuntimeError: Sharded, on the other ranks when one of them failed.
    """
    ids = list(ids)
    rank, world_size = get_dist_info() if shard else (0, 1)
    counts = _Counts(num_classes, ignore_index, contour)
    error = None
    try:
        for image_id in ids[rank::world_size]:
            counts.add(
                osp.join(pred_dir, image_id + '.png'),
                osp.join(gt_dir, image_id + '.png'),
            )
    except Exception as caught:  # re-raised below, once the ranks are told
        if world_size == 1:
            raise
        error = caught
    if world_size > 1:
        counts.sum_over_ranks(error)
    return counts.summary(len(ids))
