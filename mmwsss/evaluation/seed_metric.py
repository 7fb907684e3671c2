"""Seed / pseudo-mask mIoU with a background-score sweep (the WSSS protocol)."""

from __future__ import annotations

import json
import logging
import os
import os.path as osp
from collections.abc import Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log
from mmseg.evaluation.metrics import IoUMetric
from prettytable import PrettyTable

from ..registry import METRICS

DEFAULT_BG_SCORES = tuple(round(0.01 * i, 2) for i in range(61))


def sweep_histogram(
    gt: torch.Tensor,
    cams: torch.Tensor,
    keys: torch.Tensor,
    bg_scores: Sequence[float],
    num_classes: int,
    ignore_index: int = 255,
) -> tuple[np.ndarray, np.ndarray]:
    """Sparse (bin, gt class, strongest class) pixel histogram of one image.

    ``bin`` counts the background scores strictly below the pixel's strongest
    normalised CAM, so the pixel is foreground exactly for the scores with index
    < bin. :func:`histogram_to_confusion` turns the (summed) histogram into the
    confusion matrix of every background score at once.

    Args:
        gt (Tensor): (H, W) ground-truth labels.
        cams (Tensor): (K, H, W) normalised CAMs.
        keys (Tensor): (K,) class index of each CAM.
        bg_scores (Sequence[float]): Increasing background scores.
        num_classes (int): Number of classes including background.
        ignore_index (int): Ground-truth value to ignore. Default: 255.

    Returns:
        tuple[np.ndarray, np.ndarray]: flat indices into the
        (T + 1, num_classes, num_classes) histogram and their pixel counts
        (nonzero entries only: a few hundred per image).
    """
    gt = gt.reshape(-1).long()
    valid = gt != ignore_index
    if valid.any() and gt[valid].max() >= num_classes:
        raise ValueError(
            f'ground-truth value {gt[valid].max().item()} is outside the '
            f'{num_classes} classes of the dataset'
        )
    thresholds = torch.as_tensor(bg_scores, dtype=torch.float64)
    if cams.shape[0] == 0:
        bins = torch.zeros_like(gt)
        pred_fg = torch.zeros_like(gt)
    else:
        fg_max, fg_arg = cams.reshape(cams.shape[0], -1).max(dim=0)
        bins = torch.searchsorted(thresholds, fg_max.double(), right=False)
        pred_fg = keys.long()[fg_arg]
    gt, bins, pred_fg = gt[valid], bins[valid], pred_fg[valid]
    flat = (bins * num_classes + gt) * num_classes + pred_fg
    index, counts = torch.unique(flat, return_counts=True)
    return index.numpy().astype(np.int64), counts.numpy().astype(np.int64)


def histogram_to_confusion(
    index: np.ndarray, counts: np.ndarray, num_thresholds: int, num_classes: int
) -> np.ndarray:
    """(T, N, N) confusion matrices [threshold, gt, prediction] from a histogram.

    Suffix sums over the bins give, for threshold j, the pixels whose strongest
    class beats it (labelled with that class); the rest are background.
    """
    size = (num_thresholds + 1) * num_classes**2
    hist = np.bincount(index, weights=counts, minlength=size).astype(np.int64)
    hist = hist.reshape(num_thresholds + 1, num_classes, num_classes)
    suffix = np.cumsum(hist[::-1], axis=0)[::-1]  # suffix[b] = sum of bins >= b
    conf = suffix[1:].copy()  # pixels with bin > j keep their class
    per_gt = hist.sum(axis=(0, 2))
    conf[:, :, 0] += per_gt[None, :] - conf.sum(axis=2)
    return conf


def sweep_confusion(
    gt: torch.Tensor,
    cams: torch.Tensor,
    keys: torch.Tensor,
    bg_scores: Sequence[float],
    num_classes: int,
    ignore_index: int = 255,
) -> np.ndarray:
    """Confusion matrices of CAM labels for every background score at once.

    A pixel is labelled with its strongest class when that class's normalised CAM
    is strictly above the background score, else background (0); this equals
    one argmax of ``[bg, cams]`` per score (ties to background).

    Returns:
        np.ndarray: (T, num_classes, num_classes) int64 confusion matrices,
        indexed [threshold, gt class, predicted class].
    """
    index, counts = sweep_histogram(
        gt, cams, keys, bg_scores, num_classes, ignore_index
    )
    return histogram_to_confusion(index, counts, len(bg_scores), num_classes)


def confusion_to_iou(conf: np.ndarray) -> np.ndarray:
    """Per-class IoU from a (N, N) confusion matrix, with mmseg's arithmetic."""
    intersect = np.diag(conf).astype(np.float64)
    area_label = conf.sum(axis=1).astype(np.float64)
    area_pred = conf.sum(axis=0).astype(np.float64)
    union = area_label + area_pred - intersect
    metrics = IoUMetric.total_area_to_metrics(
        torch.from_numpy(intersect),
        torch.from_numpy(union),
        torch.from_numpy(area_pred),
        torch.from_numpy(area_label),
        metrics=['mIoU'],
    )
    return np.asarray(metrics['IoU'], dtype=np.float64)


@METRICS.register_module()
class SeedIoUMetric(BaseMetric):
    """mIoU of CAM seeds over a sweep of the background score.

    Scores the ``cams`` / ``cam_keys`` of each prediction against ``gt_sem_seg``
    (samples without ground truth are counted and skipped). Reports ``mIoU`` at
    ``fixed_bg_score`` (IRN's 0.15), ``mIoU_best`` and ``best_bg_score`` over
    ``bg_scores`` (SEAM/HFPL read the best point), and writes the curve as JSON
    and PNG to ``out_dir`` when set (``{work_dir}`` in it is filled in by
    :class:`ExportTestLoop`). Each rank keeps one running histogram, so the
    memory does not grow with the number of images.

    Args:
        bg_scores (Sequence[float]): Background scores of the sweep.
            Default: 0.00, 0.01, ..., 0.60.
        fixed_bg_score (float): The reported fixed point. Default: 0.15.
        cam_key (str): Data-sample field holding the maps. Default: 'cams'.
        ignore_index (int): Ground-truth value to ignore. Default: 255.
        out_dir (str, optional): Folder for ``seed_sweep.json`` and
            ``seed_sweep.png``. Default: None.
        collect_device (str): Device for collecting across ranks. Default: 'cpu'.
        prefix (str, optional): Metric name prefix. Default: None ('seed').
    """

    default_prefix = 'seed'

    def __init__(
        self,
        bg_scores: Sequence[float] = DEFAULT_BG_SCORES,
        fixed_bg_score: float = 0.15,
        cam_key: str = 'cams',
        ignore_index: int = 255,
        out_dir: str | None = None,
        collect_device: str = 'cpu',
        prefix: str | None = None,
    ) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        scores = sorted({round(float(s), 6) for s in (*bg_scores, fixed_bg_score)})
        self.bg_scores = tuple(scores)
        self.fixed_bg_score = float(fixed_bg_score)
        self.cam_key = cam_key
        self.ignore_index = ignore_index
        self.out_dir = out_dir
        self._reset()

    def _reset(self) -> None:
        """Empty this rank's running sums."""
        self._sum = None  # dense (T + 1) * N * N histogram of the added images
        self._counts = np.zeros(2, dtype=np.int64)  # scored, skipped (added)
        self._pending = None  # the last image's (histogram or None), not added
        self._seen = 0  # images processed on this rank, the pending one included

    def _add_pending(self) -> None:
        if self._seen == 0:
            return
        if self._pending is None:
            self._counts[1] += 1
            return
        index, counts = self._pending
        np.add.at(self._sum, index, counts)
        self._counts[0] += 1

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        num_classes = len(self.dataset_meta['classes'])
        if self._sum is None:
            size = (len(self.bg_scores) + 1) * num_classes**2
            self._sum = np.zeros(size, dtype=np.int64)
        for sample in data_samples:
            # the previous image is added now: only a rank's last image can be
            # a duplicate that a padded DDP sampler appended (see evaluate)
            self._add_pending()
            self._seen += 1
            if 'gt_sem_seg' not in sample:
                self._pending = None
                continue
            if self.cam_key not in sample:
                raise KeyError(
                    f"{sample.get('img_path', 'a sample')} has no "
                    f"'{self.cam_key}' to score (a CAM classifier validates on "
                    'its class scores only: set model.test_cfg.val_maps=True '
                    'for a val evaluator that reads its maps)'
                )
            gt = sample['gt_sem_seg']['data'].squeeze(0).cpu()
            cams = sample[self.cam_key]['data'].float().cpu()
            keys = torch.as_tensor(sample['cam_keys']).cpu()
            if cams.shape[-2:] != gt.shape[-2:]:
                raise ValueError(
                    f'{sample.get("img_path", "a sample")}: CAM size '
                    f'{tuple(cams.shape[-2:])} differs from its ground truth '
                    f'{tuple(gt.shape[-2:])}'
                )
            self._pending = sweep_histogram(
                gt, cams, keys, self.bg_scores, num_classes, self.ignore_index
            )

    def local_result(self, size: int, rank: int, world_size: int) -> tuple | None:
        """This rank's share: ``(histogram sum, scored, skipped)`` of its images,
        without the duplicate that mmengine's padded sampler appended.

        Memory does not grow with the dataset: one dense histogram per rank
        (about 0.2 MB for VOC, 3.3 MB for COCO) instead of one per image. The
        sampler (``DefaultSampler``) deals image ``j * world_size + rank`` of
        the padded order to ``rank`` as its ``j``-th; positions from ``size``
        on repeat the first images (the order mmengine's ``collect_results``
        assumes too), so a rank's last image is a duplicate exactly when its
        position is ``size`` or beyond.
        """
        if not self._seen:
            return None
        padded = (self._seen - 1) * world_size + rank >= size
        if not padded:
            self._add_pending()
        result = (self._sum, int(self._counts[0]), int(self._counts[1]))
        self._reset()
        return result

    def evaluate(self, size: int) -> dict:
        """Gather one running sum per rank (not one histogram per image)."""
        from mmengine.dist import get_dist_info

        rank, world_size = get_dist_info()
        local = self.local_result(size, rank, world_size)
        self.results = [local]
        return super().evaluate(world_size)

    def compute_metrics(self, results: list) -> dict[str, float]:
        """Sum the ranks' shares (:meth:`local_result`) and score them."""
        shares = [r for r in results if r is not None]
        scored = sum(r[1] for r in shares)
        skipped = sum(r[2] for r in shares)
        if skipped:
            print_log(
                f'SeedIoUMetric: {skipped} image(s) without ground truth skipped',
                logger='current',
            )
        if not scored:
            raise ValueError(
                'SeedIoUMetric: no image with ground truth to score; evaluate seeds '
                'on a split with masks (e.g. VOC train)'
            )
        num_classes = len(self.dataset_meta['classes'])
        total = np.sum([r[0] for r in shares], axis=0)
        index = np.flatnonzero(total)
        conf = histogram_to_confusion(
            index, total[index], len(self.bg_scores), num_classes
        )
        ious = np.stack([confusion_to_iou(c) for c in conf])  # (T, N)
        miou = np.nanmean(ious, axis=1) * 100
        best = int(np.nanargmax(miou))
        fixed = self.bg_scores.index(round(self.fixed_bg_score, 6))
        classes = list(self.dataset_meta['classes'])
        table = PrettyTable()
        table.add_column('Class', classes)
        table.add_column(
            f'IoU@{self.fixed_bg_score:.2f}', np.round(ious[fixed] * 100, 2)
        )
        table.add_column(
            f'IoU@{self.bg_scores[best]:.2f}', np.round(ious[best] * 100, 2)
        )
        print_log('per class seed IoU:\n' + table.get_string(), logger='current')
        curve = dict(
            bg_scores=list(self.bg_scores),
            mIoU=[round(float(v), 4) for v in miou],
            fixed_bg_score=self.fixed_bg_score,
            mIoU_fixed=round(float(miou[fixed]), 4),
            best_bg_score=self.bg_scores[best],
            mIoU_best=round(float(miou[best]), 4),
            classes=classes,
            IoU_fixed=[round(float(v) * 100, 4) for v in ious[fixed]],
            IoU_best=[round(float(v) * 100, 4) for v in ious[best]],
            num_images=scored,
            num_skipped=skipped,
        )
        if self.out_dir and '{work_dir}' in self.out_dir:
            # only ExportTestLoop fills the placeholder; do not create a folder
            # literally named '{work_dir}'
            print_log(
                f'SeedIoUMetric: out_dir {self.out_dir!r} was not resolved (use '
                'ExportTestLoop or a plain path); the sweep is not saved',
                logger='current',
                level=logging.WARNING,
            )
        elif self.out_dir:
            save_sweep(curve, self.out_dir)
        return {
            'mIoU': round(float(miou[fixed]), 2),
            'mIoU_best': round(float(miou[best]), 2),
            'best_bg_score': float(self.bg_scores[best]),
        }


def save_sweep(curve: dict, out_dir: str, name: str = 'seed_sweep') -> None:
    """Write the sweep as ``{name}.json`` and a ``{name}.png`` plot."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    os.makedirs(out_dir, exist_ok=True)
    with open(osp.join(out_dir, f'{name}.json'), 'w') as f:
        json.dump(curve, f, indent=1)
    fig, ax = plt.subplots(figsize=(5, 3.5), dpi=120)
    ax.plot(curve['bg_scores'], curve['mIoU'], color='tab:blue')
    ax.axvline(curve['fixed_bg_score'], color='gray', ls='--', lw=1)
    ax.plot(
        [curve['fixed_bg_score']],
        [curve['mIoU_fixed']],
        'o',
        color='gray',
        label=f"fixed {curve['fixed_bg_score']:.2f}: {curve['mIoU_fixed']:.1f}",
    )
    ax.plot(
        [curve['best_bg_score']],
        [curve['mIoU_best']],
        '*',
        color='tab:red',
        ms=10,
        label=f"best {curve['best_bg_score']:.2f}: {curve['mIoU_best']:.1f}",
    )
    ax.set_xlabel('background score')
    ax.set_ylabel('mIoU (%)')
    ax.set_title(f"seed mIoU vs background score ({curve['num_images']} images)")
    ax.grid(alpha=0.3)
    ax.legend(loc='lower right')
    fig.tight_layout()
    fig.savefig(osp.join(out_dir, f'{name}.png'))
    plt.close(fig)
