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
"""

from __future__ import annotations

import os.path as osp
from collections.abc import Sequence

import numpy as np
import torch
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
    """(4, C) intersection, union, prediction and GT areas of one image."""
    areas = IoUMetric.intersect_and_union(
        torch.from_numpy(pred), torch.from_numpy(gt), num_classes, ignore_index
    )
    return torch.stack(areas).double().numpy()


def _miou(areas: np.ndarray) -> tuple[float, list[float], float]:
    """(mIoU %, per-class IoU %, aAcc %) of summed (4, C) areas."""
    metrics = IoUMetric.total_area_to_metrics(
        *torch.from_numpy(areas), metrics=['mIoU']
    )
    iou = np.asarray(metrics['IoU'], dtype=np.float64) * 100
    miou = float(np.nanmean(iou)) if not np.isnan(iou).all() else float('nan')
    return miou, iou.tolist(), float(metrics['aAcc']) * 100


def score_label_dir(
    pred_dir: str,
    gt_dir: str,
    ids: Sequence[str],
    num_classes: int,
    ignore_index: int = 255,
    contour: bool = True,
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
    """
    areas = np.zeros((4, num_classes), dtype=np.float64)
    areas_labelled = np.zeros((4, num_classes), dtype=np.float64)
    valid_total = labelled_total = correct_total = 0
    outlines = ContourCounts(num_classes, ignore_index) if contour else None
    for image_id in ids:
        pred_path = osp.join(pred_dir, image_id + '.png')
        gt_path = osp.join(gt_dir, image_id + '.png')
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
        areas += _areas(pred, gt, num_classes, ignore_index)
        gt_labelled = np.where(labelled, gt, ignore_index)
        areas_labelled += _areas(pred, gt_labelled, num_classes, ignore_index)
        valid = gt != ignore_index
        valid_total += int(valid.sum())
        labelled_total += int((valid & labelled).sum())
        correct_total += int((valid & labelled & (pred == gt)).sum())
        if outlines is not None:
            outlines.add(pred, gt)

    with np.errstate(divide='ignore', invalid='ignore'):
        miou, iou, aacc = _miou(areas)
        miou_labelled, iou_labelled, _ = _miou(areas_labelled)
        # areas: intersection, union, prediction, GT (mmseg's order)
        class_precision = 100.0 * areas[0] / areas[2]
        class_recall = 100.0 * areas[0] / areas[3]
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
        num_images=len(ids),
    )
    if outlines is not None:
        result.update(outlines.summary())
    return result
