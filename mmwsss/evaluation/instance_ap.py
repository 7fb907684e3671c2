"""Instance-segmentation mask AP (COCO protocol) for IRN's instance pseudo labels.

Predicted and ground-truth instances travel as COCO run-length encodings (RLE,
``counts`` as a str so they serialise to JSON). Category ids are the
segmentation class indices of the dataset (1..C, background 0 is never a
category), so the ``classes`` of an mmseg dataset name them directly.

Ground truth in the VOC layout is two PNGs per image: ``SegmentationObject``
(instance ids 1, 2, ..., 0 background, 255 unsure) and ``SegmentationClass``
(the class of every pixel). Unsure pixels belong to no instance, as in
chainercv's ``VOCInstanceSegmentationDataset`` used by IRN's evaluation.

Two definitions of mask AP, as the field reports them:

- COCO-style (:func:`instance_ap`): pycocotools' ``COCOeval``
  (``iouType='segm'``): 101-point interpolated precision, ``AP50`` / ``AP75``
  at IoU 0.5 / 0.75 and ``AP`` averaged over IoU 0.50:0.05:0.95, at most 100
  detections per image (what mmdet's ``CocoMetric`` reports);
- VOC-style (:func:`voc_instance_metrics`): the PASCAL VOC protocol of PRM,
  WISE and IRN (IRN through chainercv's ``eval_instance_segmentation_voc``):
  per class, detections ranked by score over all images; each one matches the
  ground-truth instance of its class it overlaps most, a true positive at
  IoU >= the threshold if that instance is not matched yet (a later one is a
  false positive), ignored if that instance is *difficult*; AP is the area
  under the all-point interpolated precision-recall curve; the mean runs over
  the classes that have ground truth. PRM and WISE report it at IoU 0.25, 0.5
  and 0.75 with ABO (average best overlap: the mean over ground-truth
  instances of the best IoU of any predicted mask), IRN at 0.5.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import logging
import os
import os.path as osp
from collections.abc import Mapping, Sequence

import numpy as np
import pycocotools.mask as mask_utils
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log
from mmengine.structures import BaseDataElement
from PIL import Image
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from ..registry import METRICS


def _to_numpy(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    if hasattr(x, 'to_ndarray'):  # mmdet BitmapMasks
        return x.to_ndarray()
    return np.asarray(x)


def _png_size(path: str) -> tuple[int, int]:
    with Image.open(path) as image:
        width, height = image.size
    return height, width


def _rle_bytes(rle: dict) -> dict:
    """A compressed RLE with ``counts`` as bytes, as pycocotools' C code wants."""
    counts = rle['counts']
    if isinstance(counts, list):  # uncompressed RLE
        return mask_utils.frPyObjects(rle, *rle['size'])
    if isinstance(counts, str):
        counts = counts.encode()
    return dict(size=list(rle['size']), counts=counts)


def encode_mask(mask) -> dict:
    """COCO RLE of a ``(H, W)`` binary mask, with ``counts`` as a str."""
    mask = _to_numpy(mask)
    if mask.ndim != 2:
        raise ValueError(f'a mask must be (H, W), got shape {mask.shape}')
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return dict(size=[int(v) for v in rle['size']], counts=rle['counts'].decode())


def decode_mask(rle: dict) -> np.ndarray:
    """``(H, W)`` bool mask of a COCO RLE (``counts`` str or bytes)."""
    return mask_utils.decode(_rle_bytes(rle)).astype(bool)


def as_instance_list(pred) -> list[dict]:
    """Normalise predicted instances to a list of ``mask`` / ``label`` / ``score``.

    Args:
        pred (list[dict] | InstanceData | Mapping): Either a list of dicts with
            ``mask`` (H, W), ``label`` and ``score`` (what
            :func:`mmwsss.ops.instance_pseudo_labels` returns), or an
            ``InstanceData`` (or its ``to_dict()``) with ``masks`` (N, H, W),
            ``labels`` (N,) and ``scores`` (N,) in the mmdet convention.

    Returns:
        list[dict]: ``mask`` (bool ndarray), ``label`` (int), ``score`` (float).
    """
    if isinstance(pred, BaseDataElement):
        pred = pred.to_dict()
    if isinstance(pred, Mapping):
        missing = {'masks', 'labels', 'scores'} - set(pred)
        if missing:
            raise KeyError(f'pred_instances lacks {sorted(missing)}')
        masks = _to_numpy(pred['masks']).astype(bool)
        labels = _to_numpy(pred['labels']).reshape(-1)
        scores = _to_numpy(pred['scores']).reshape(-1)
        if not len(masks) == len(labels) == len(scores):
            raise ValueError(
                f'pred_instances has {len(masks)} masks, {len(labels)} labels '
                f'and {len(scores)} scores'
            )
        return [
            dict(mask=m, label=int(c), score=float(s))
            for m, c, s in zip(masks, labels, scores)
        ]
    if isinstance(pred, Sequence):
        return [
            dict(
                mask=_to_numpy(inst['mask']).astype(bool),
                label=int(inst['label']),
                score=float(inst['score']),
            )
            for inst in pred
        ]
    raise TypeError(
        'pred_instances must be a list of dicts (mask, label, score) or an '
        f'InstanceData with masks, labels and scores, got {type(pred).__name__}'
    )


def encode_instances(image_id: int, instances) -> list[dict]:
    """COCO result entries of one image's predicted instances.

    Args:
        image_id (int): The image's id in the ground-truth COCO dict.
        instances (list[dict] | InstanceData): See :func:`as_instance_list`.

    Returns:
        list[dict]: ``image_id``, ``category_id`` (the class index),
        ``segmentation`` (RLE, ``counts`` str) and ``score`` per instance; no
        ``bbox``, so ``COCO.loadRes`` takes the areas from the masks.
    """
    return [
        dict(
            image_id=int(image_id),
            category_id=inst['label'],
            segmentation=encode_mask(inst['mask']),
            score=inst['score'],
        )
        for inst in as_instance_list(instances)
    ]


def load_voc_instances(object_path: str, class_path: str) -> list[dict]:
    """Instances of one image from its VOC object and class PNGs.

    Args:
        object_path (str): ``SegmentationObject`` PNG (instance ids, 0
            background, 255 unsure).
        class_path (str): ``SegmentationClass`` PNG of the same image.

    Returns:
        list[dict]: ``mask`` ((H, W) bool) and ``label`` (the most frequent
        class on the instance's pixels, ignoring 0 and 255) per instance id,
        in increasing id order.
    """
    with Image.open(object_path) as image:
        objects = np.array(image, dtype=np.int64)
    with Image.open(class_path) as image:
        classes = np.array(image, dtype=np.int64)
    if objects.shape != classes.shape:
        raise ValueError(
            f'{object_path} is {objects.shape} but {class_path} is {classes.shape}'
        )
    instances = []
    for inst_id in np.unique(objects):
        if inst_id in (0, 255):
            continue
        mask = objects == inst_id
        values = classes[mask]
        values = values[(values != 0) & (values != 255)]
        if values.size == 0:
            raise ValueError(
                f'instance {inst_id} of {object_path} has no class in {class_path}'
            )
        instances.append(dict(mask=mask, label=int(np.bincount(values).argmax())))
    return instances


def _categories(classes: Sequence[str] | None, used: set[int]) -> list[dict]:
    if classes is None:
        return [dict(id=i, name=str(i)) for i in sorted(used)]
    unknown = {i for i in used if not 0 < i < len(classes)}
    if unknown:
        raise ValueError(
            f'class indices {sorted(unknown)} are outside 1..{len(classes) - 1} '
            f'of the {len(classes)} classes (index 0 is background)'
        )
    return [dict(id=i, name=str(classes[i])) for i in range(1, len(classes))]


def masks_to_coco_gt(
    records: Sequence[dict], classes: Sequence[str] | None = None
) -> dict:
    """COCO ground-truth dict (``images``, ``annotations``, ``categories``).

    Args:
        records (Sequence[dict]): One per image: ``image_id`` (int),
            ``file_name``, ``height``, ``width`` and ``instances``, a list of
            dicts with ``label`` and either ``mask`` ((H, W) bool) or
            ``segmentation`` (RLE).
        classes (Sequence[str], optional): Class names by class index, index 0
            being background (an mmseg dataset's ``classes``); categories are
            1..len - 1. Default: None (the labels present, named by number).

    Returns:
        dict: A COCO dataset with RLE segmentations, ``area``, ``bbox`` and
        ``iscrowd`` 0; annotation ids count from 1.
    """
    images, annotations = [], []
    for record in records:
        images.append(
            dict(
                id=int(record['image_id']),
                file_name=record['file_name'],
                height=int(record['height']),
                width=int(record['width']),
            )
        )
        for inst in record['instances']:
            if 'segmentation' in inst:
                coded = _rle_bytes(inst['segmentation'])
            else:
                coded = _rle_bytes(encode_mask(inst['mask']))
            if list(coded['size']) != [images[-1]['height'], images[-1]['width']]:
                raise ValueError(
                    f'an instance of {record["file_name"]} is {coded["size"]}, the '
                    f'image is {images[-1]["height"]}x{images[-1]["width"]}'
                )
            rle = dict(size=list(coded['size']), counts=coded['counts'].decode())
            annotations.append(
                dict(
                    id=len(annotations) + 1,
                    image_id=int(record['image_id']),
                    category_id=int(inst['label']),
                    segmentation=rle,
                    area=float(mask_utils.area(coded)),
                    bbox=[float(v) for v in mask_utils.toBbox(coded)],
                    iscrowd=0,
                )
            )
    used = {a['category_id'] for a in annotations}
    return dict(
        images=images, annotations=annotations, categories=_categories(classes, used)
    )


def build_voc_instance_gt(
    data_root: str,
    image_ids: Sequence[str],
    classes: Sequence[str] | None = None,
    object_dir: str = 'SegmentationObject',
    class_dir: str = 'SegmentationClass',
    img_suffix: str = '.jpg',
) -> dict:
    """COCO ground truth of VOC images from their object and class PNGs.

    Args:
        data_root (str): Folder holding ``object_dir`` and ``class_dir``
            (``VOCdevkit/VOC2012``).
        image_ids (Sequence[str]): Image names without extension; image ``i``
            of the list gets COCO id ``i + 1``.
        classes (Sequence[str], optional): See :func:`masks_to_coco_gt`.
            Default: None.
        object_dir (str): Instance-id PNG folder. Default: 'SegmentationObject'.
        class_dir (str): Class PNG folder. Default: 'SegmentationClass'.
        img_suffix (str): Suffix of ``file_name``. Default: '.jpg'.

    Returns:
        dict: See :func:`masks_to_coco_gt`.
    """
    records = []
    for i, stem in enumerate(image_ids):
        object_path = osp.join(data_root, object_dir, stem + '.png')
        instances = load_voc_instances(
            object_path, osp.join(data_root, class_dir, stem + '.png')
        )
        height, width = _png_size(object_path)
        records.append(
            dict(
                image_id=i + 1,
                file_name=stem + img_suffix,
                height=height,
                width=width,
                instances=instances,
            )
        )
    return masks_to_coco_gt(records, classes)


def _coco_from_dict(dataset: dict) -> COCO:
    coco = COCO()
    coco.dataset = copy.deepcopy(dataset)
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
    return coco


def instance_ap(
    gt_coco: dict, results: Sequence[dict], return_summary: bool = False
) -> dict:
    """Mask AP of COCO results against a COCO ground-truth dict, in percent.

    Args:
        gt_coco (dict): Ground truth from :func:`masks_to_coco_gt`.
        results (Sequence[dict]): Entries from :func:`encode_instances`; their
            image ids must be in ``gt_coco``.
        return_summary (bool): Also return COCOeval's printed summary under
            ``summary``. Default: False.

    Returns:
        dict: ``AP50``, ``AP75`` and ``AP`` (0..100). 0 when there are no
        results; NaN when the ground truth has no instance to find.
    """
    if not gt_coco.get('annotations'):
        out = dict(AP50=float('nan'), AP75=float('nan'), AP=float('nan'))
        return dict(out, summary='') if return_summary else out
    if not results:
        out = dict(AP50=0.0, AP75=0.0, AP=0.0)
        return dict(out, summary='') if return_summary else out
    known = {img['id'] for img in gt_coco['images']}
    strays = {r['image_id'] for r in results} - known
    if strays:
        raise ValueError(
            f'results refer to image ids {sorted(strays)[:5]} that the ground '
            'truth does not have'
        )
    gt = _coco_from_dict(gt_coco)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        dt = gt.loadRes(copy.deepcopy(list(results)))
        evaluator = COCOeval(gt, dt, iouType='segm')
        evaluator.evaluate()
        evaluator.accumulate()
    summary = io.StringIO()
    with contextlib.redirect_stdout(summary):
        evaluator.summarize()
    ap, ap50, ap75 = (float(v) for v in evaluator.stats[:3])
    out = {
        key: value * 100 if value >= 0 else float('nan')
        for key, value in (('AP50', ap50), ('AP75', ap75), ('AP', ap))
    }
    return dict(out, summary=summary.getvalue()) if return_summary else out


def _segmentation_rle(segmentation, height: int, width: int) -> dict:
    """A compressed RLE of a COCO segmentation (RLE or polygons)."""
    if isinstance(segmentation, list):  # polygons
        return mask_utils.merge(mask_utils.frPyObjects(segmentation, height, width))
    return _rle_bytes(segmentation)


def _difficult(ann: dict) -> bool:
    return bool(ann.get('difficult', False) or ann.get('iscrowd', 0))


def _voc_ap(precision: np.ndarray, recall: np.ndarray) -> float:
    """Area under the all-point interpolated precision-recall curve (VOC
    2010+, chainercv's ``calc_detection_voc_ap`` without ``use_07_metric``)."""
    mrec = np.concatenate([[0.0], recall, [1.0]])
    mpre = np.concatenate([[0.0], np.nan_to_num(precision), [0.0]])
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    steps = np.nonzero(mrec[1:] != mrec[:-1])[0]
    return float(np.sum((mrec[steps + 1] - mrec[steps]) * mpre[steps + 1]))


def voc_instance_metrics(
    gt_coco: dict,
    results: Sequence[dict],
    iou_thrs: Sequence[float] = (0.25, 0.5, 0.75),
) -> dict:
    """VOC-style mask AP, ABO and precision / recall (see the module doc), in
    percent.

    Args:
        gt_coco (dict): COCO ground truth (RLE segmentations); an annotation
            with ``difficult`` true or ``iscrowd`` 1 is difficult (ignored:
            neither to find nor a false positive where matched).
        results (Sequence[dict]): COCO result entries (``image_id``,
            ``category_id``, ``segmentation``, ``score``).
        iou_thrs (Sequence[float]): IoU thresholds of the APs.
            Default: (0.25, 0.5, 0.75), PRM's and WISE's.

    Returns:
        dict: ``voc_AP{t}`` (e.g. ``voc_AP50``: the mean over classes with
        ground truth of the class APs at IoU ``t / 100``), ``ABO`` (the mean
        over non-difficult ground-truth instances of their best IoU with any
        predicted mask of the image, any class, 0 without one), and
        ``precision50`` / ``recall50`` (true positives of the VOC matching at
        IoU 0.5 over the detections not matched to a difficult instance / over
        the non-difficult instances). NaN where there is no ground truth.
    """
    nan = float('nan')
    sizes = {img['id']: (img['height'], img['width']) for img in gt_coco['images']}
    known = set(sizes)
    strays = {r['image_id'] for r in results} - known
    if strays:
        raise ValueError(
            f'results refer to image ids {sorted(strays)[:5]} that the ground '
            'truth does not have'
        )
    gts, dets = {}, {}
    for ann in gt_coco.get('annotations', []):
        gts.setdefault(ann['image_id'], []).append(ann)
    for det in results:
        dets.setdefault(det['image_id'], []).append(det)
    thrs = [float(t) for t in iou_thrs]
    if 0.5 not in thrs:
        thrs.append(0.5)
    # per threshold and class: [(score, match)] with match 1 TP, 0 FP, -1 ignored
    matches = {t: {} for t in thrs}
    n_pos, best = {}, []
    for image_id in sorted(known):
        image_gts = gts.get(image_id, [])
        image_dets = sorted(dets.get(image_id, []), key=lambda d: -d['score'])
        difficult = np.array([_difficult(g) for g in image_gts], bool)
        gt_labels = np.array([g['category_id'] for g in image_gts], int)
        for label in gt_labels[~difficult]:
            n_pos[int(label)] = n_pos.get(int(label), 0) + 1
        for det in image_dets:
            n_pos.setdefault(int(det['category_id']), 0)
        if image_gts and image_dets:
            h, w = sizes[image_id]
            ious = np.asarray(
                mask_utils.iou(
                    [_segmentation_rle(d['segmentation'], h, w) for d in image_dets],
                    [_segmentation_rle(g['segmentation'], h, w) for g in image_gts],
                    [0] * len(image_gts),
                )
            ).reshape(len(image_dets), len(image_gts))
        else:
            ious = np.zeros((len(image_dets), len(image_gts)))
        best.extend(
            ious[:, ~difficult].max(axis=0)
            if len(image_dets)
            else np.zeros(int((~difficult).sum()))
        )
        for t in thrs:
            taken = np.zeros(len(image_gts), bool)
            for d, det in enumerate(image_dets):
                label = int(det['category_id'])
                same = np.nonzero(gt_labels == label)[0]
                match = 0
                if len(same) and ious[d, same].max() >= t:
                    g = same[int(np.argmax(ious[d, same]))]
                    if difficult[g]:
                        match = -1
                    elif not taken[g]:
                        match = 1
                    taken[g] = True
                matches[t].setdefault(label, []).append((det['score'], match))
    out = {}
    for t in thrs:
        aps = []
        for label, count in n_pos.items():
            if count == 0:
                continue  # detections of a class without ground truth: no AP
            found = matches[t].get(label, [])
            order = np.argsort([-score for score, _ in found], kind='stable')
            flags = np.array([found[i][1] for i in order], int)
            tp = np.cumsum(flags == 1)
            fp = np.cumsum(flags == 0)
            with np.errstate(invalid='ignore', divide='ignore'):
                precision = tp / (tp + fp)
            aps.append(_voc_ap(precision, tp / count))
        if t in iou_thrs:
            out[f'voc_AP{round(t * 100)}'] = 100 * float(np.mean(aps)) if aps else nan
    total = sum(n_pos.values())
    flags = [m for found in matches[0.5].values() for _, m in found]
    tp, counted = flags.count(1), sum(1 for m in flags if m >= 0)
    out['ABO'] = 100 * float(np.mean(best)) if best else nan
    out['precision50'] = 100 * tp / counted if counted else (nan if not total else 0.0)
    out['recall50'] = 100 * tp / total if total else nan
    return out


def best_overlaps(gt_masks: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """The best IoU of each ground-truth mask ``(G, H, W)`` with any of
    ``masks`` ``(N, H, W)`` (0 where there is none): the overlaps whose mean
    is the ABO of a set of proposals or predictions."""
    from ..ops.wise import mask_ious

    if not len(gt_masks):
        return np.zeros(0)
    if not len(masks):
        return np.zeros(len(gt_masks))
    return mask_ious(gt_masks, masks).max(axis=1)


def peak_diagnostics(
    peaks: Mapping[int, Sequence[Sequence]], gt_coco: dict
) -> dict[str, float]:
    """How the peaks of a split fall on its ground-truth instances.

    Args:
        peaks (Mapping[int, Sequence]): ``(class, y, x, ...)`` peaks by COCO
            image id (images of ``gt_coco`` without an entry have none).
        gt_coco (dict): COCO ground truth (RLE segmentations).

    Returns:
        dict: ``peaks_per_object`` (the number of peaks over the number of
        ground-truth instances), ``objects_hit`` (percent of the instances
        holding a peak of their class), ``peaks_on_objects`` (percent of the
        peaks inside an instance of their class), ``peaks_per_hit_object``
        (the mean number of own-class peaks inside an instance that has one).
        NaN where there is nothing to divide by.
    """
    gts = {}
    for ann in gt_coco.get('annotations', []):
        gts.setdefault(ann['image_id'], []).append(ann)
    n_objects = n_peaks = hit = on = inside_hit = 0
    for img in gt_coco['images']:
        image_peaks = [
            (int(p[0]), int(p[1]), int(p[2])) for p in peaks.get(img['id'], [])
        ]
        anns = gts.get(img['id'], [])
        masks = [decode_mask(a['segmentation']) for a in anns]
        n_objects += len(anns)
        n_peaks += len(image_peaks)
        for ann, mask in zip(anns, masks):
            count = sum(
                1 for c, y, x in image_peaks if c == ann['category_id'] and mask[y, x]
            )
            hit += count > 0
            inside_hit += count
        on += sum(
            any(c == a['category_id'] and m[y, x] for a, m in zip(anns, masks))
            for c, y, x in image_peaks
        )
    nan = float('nan')
    return dict(
        peaks_per_object=n_peaks / n_objects if n_objects else nan,
        objects_hit=100 * hit / n_objects if n_objects else nan,
        peaks_on_objects=100 * on / n_peaks if n_peaks else nan,
        peaks_per_hit_object=inside_hit / hit if hit else nan,
    )


def voc_gt_paths(
    seg_map_path: str,
    object_dir: str = 'SegmentationObject',
    class_dir: str = 'SegmentationClass',
) -> tuple[str, str]:
    """Object and class PNG paths next to a sample's class-mask folder.

    ``{root}/SegmentationClassAug/x.png`` gives ``{root}/SegmentationObject/
    x.png`` and ``{root}/SegmentationClass/x.png``.
    """
    root = osp.dirname(osp.dirname(seg_map_path))
    name = osp.splitext(osp.basename(seg_map_path))[0] + '.png'
    return osp.join(root, object_dir, name), osp.join(root, class_dir, name)


def atomic_save_json(path: str, obj) -> None:
    """Write ``obj`` as JSON under a temporary name and rename it into place.

    The temporary name is this process's own: the ranks of a distributed run
    may write the same file at once (each replaces it whole).
    """
    tmp = f'{path}.{os.getpid()}.part'
    with open(tmp, 'w') as f:
        json.dump(obj, f)
    os.replace(tmp, path)


@METRICS.register_module()
class InstanceAPMetric(BaseMetric):
    """Mask AP of predicted instances against VOC instance ground truth:
    COCO-style ``AP50`` / ``AP75`` / ``AP`` and VOC-style ``voc_AP25`` /
    ``voc_AP50`` / ``voc_AP75``, ``ABO``, ``precision50`` and ``recall50``
    (:func:`voc_instance_metrics`), in percent.

    Each data sample carries ``pred_instances``: a list of dicts with ``mask``
    ((H, W) at the original image size), ``label`` (class index) and ``score``,
    as :func:`mmwsss.ops.instance_pseudo_labels` returns, or an
    ``InstanceData`` with ``masks`` (N, H, W), ``labels`` and ``scores``. The
    ground truth is read from the ``object_dir`` and ``class_dir`` folders next
    to the folder of the sample's ``seg_map_path`` (``{data_root}/
    SegmentationObject/{id}.png``); samples without an object PNG are counted
    and skipped. Each rank encodes its samples as RLE in :meth:`process`, so
    only compact strings are gathered across ranks.

    With ``out_dir`` set (``{work_dir}`` in it is filled in by
    :class:`ExportTestLoop`), the ground truth and the results are written as
    ``instance_gt.json`` and ``instance_results.json`` (image ids by sorted
    image name, counting from 1).

    Args:
        object_dir (str): Instance-id PNG folder. Default: 'SegmentationObject'.
        class_dir (str): Class PNG folder. Default: 'SegmentationClass'.
        pred_key (str): Data-sample field of the predictions.
            Default: 'pred_instances'.
        out_dir (str, optional): Folder for the JSON files. Default: None.
        collect_device (str): Device for collecting across ranks. Default: 'cpu'.
        prefix (str, optional): Metric name prefix. Default: None ('instance').
    """

    default_prefix = 'instance'

    def __init__(
        self,
        object_dir: str = 'SegmentationObject',
        class_dir: str = 'SegmentationClass',
        pred_key: str = 'pred_instances',
        out_dir: str | None = None,
        collect_device: str = 'cpu',
        prefix: str | None = None,
    ) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.object_dir = object_dir
        self.class_dir = class_dir
        self.pred_key = pred_key
        self.out_dir = out_dir

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            if 'seg_map_path' not in sample or 'img_path' not in sample:
                raise KeyError(
                    'InstanceAPMetric needs img_path and seg_map_path in the data '
                    'sample metainfo'
                )
            object_path, class_path = voc_gt_paths(
                sample['seg_map_path'], self.object_dir, self.class_dir
            )
            if not osp.exists(object_path):
                self.results.append(None)
                continue
            gt = load_voc_instances(object_path, class_path)
            height, width = _png_size(object_path)
            preds = as_instance_list(sample[self.pred_key])
            for inst in preds:
                if inst['mask'].shape != (height, width):
                    raise ValueError(
                        f'{sample["img_path"]}: a predicted mask is '
                        f'{inst["mask"].shape}, its ground truth {(height, width)}; '
                        'predict at the original image size'
                    )
            self.results.append(
                dict(
                    file_name=osp.basename(sample['img_path']),
                    height=height,
                    width=width,
                    gt=[
                        dict(label=g['label'], segmentation=encode_mask(g['mask']))
                        for g in gt
                    ],
                    dets=encode_instances(0, preds),
                )
            )

    def compute_metrics(self, results: list) -> dict[str, float]:
        scored = sorted(
            (r for r in results if r is not None), key=lambda r: r['file_name']
        )
        skipped = len(results) - len(scored)
        if skipped:
            print_log(
                f'InstanceAPMetric: {skipped} image(s) without {self.object_dir} '
                'ground truth skipped',
                logger='current',
            )
        if not scored:
            raise ValueError(
                f'InstanceAPMetric: no image with a {self.object_dir} PNG to score; '
                'evaluate on a split with instance masks (e.g. VOC train or val)'
            )
        classes = (self.dataset_meta or {}).get('classes')
        records, dets = [], []
        for image_id, r in enumerate(scored, start=1):
            records.append(
                dict(
                    image_id=image_id,
                    file_name=r['file_name'],
                    height=r['height'],
                    width=r['width'],
                    instances=r['gt'],
                )
            )
            dets.extend(dict(d, image_id=image_id) for d in r['dets'])
        gt_coco = masks_to_coco_gt(records, classes)
        ap = instance_ap(gt_coco, dets, return_summary=True)
        print_log('instance mask AP (COCO):\n' + ap['summary'], logger='current')
        if self.out_dir and '{work_dir}' in self.out_dir:
            print_log(
                f'InstanceAPMetric: out_dir {self.out_dir!r} was not resolved (use '
                'ExportTestLoop or a plain path); the JSON files are not saved',
                logger='current',
                level=logging.WARNING,
            )
        elif self.out_dir:
            os.makedirs(self.out_dir, exist_ok=True)
            atomic_save_json(osp.join(self.out_dir, 'instance_gt.json'), gt_coco)
            atomic_save_json(osp.join(self.out_dir, 'instance_results.json'), dets)
        voc = voc_instance_metrics(gt_coco, dets)
        metrics = {k: ap[k] for k in ('AP50', 'AP75', 'AP')}
        metrics.update(voc)
        return {k: round(v, 2) for k, v in metrics.items()}


@METRICS.register_module()
class VOCMaskAPMetric(BaseMetric):
    """VOC-style mask AP, ABO, precision and recall of an mmdet detector's
    predictions (:func:`voc_instance_metrics`), beside mmdet's ``CocoMetric``
    on the same COCO ground truth, e.g. in an mmdet config::

        val_evaluator = [
            dict(type='CocoMetric', ann_file=..., metric=['bbox', 'segm']),
            dict(type='VOCMaskAPMetric', _scope_='mmwsss', ann_file=...),
        ]

    Each data sample carries ``img_id`` (the COCO image id) and
    ``pred_instances`` (``masks`` (N, H, W) at the original image size,
    ``labels`` indexing the dataset's ``classes``, ``scores``), as mmdet's
    Mask R-CNN predicts. Images of the ground truth that were not evaluated
    are left out.

    Args:
        ann_file (str): COCO ground-truth json (categories named by the
            dataset's classes).
        iou_thrs (Sequence[float]): IoU thresholds of the APs.
            Default: (0.25, 0.5, 0.75).
        collect_device (str): Device for collecting across ranks.
            Default: 'cpu'.
        prefix (str, optional): Metric name prefix. Default: None ('voc':
            ``voc/AP25``, ``voc/AP50``, ``voc/AP75``, ``voc/ABO``,
            ``voc/precision50``, ``voc/recall50``, percent).
    """

    default_prefix = 'voc'

    def __init__(
        self,
        ann_file: str,
        iou_thrs: Sequence[float] = (0.25, 0.5, 0.75),
        collect_device: str = 'cpu',
        prefix: str | None = None,
    ) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.ann_file = ann_file
        self.iou_thrs = tuple(iou_thrs)

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            pred = sample['pred_instances']
            masks = _to_numpy(pred['masks']).astype(bool)
            self.results.append(
                dict(
                    img_id=int(sample['img_id']),
                    labels=_to_numpy(pred['labels']).reshape(-1).tolist(),
                    scores=_to_numpy(pred['scores']).reshape(-1).tolist(),
                    masks=[encode_mask(m) for m in masks],
                )
            )

    def compute_metrics(self, results: list) -> dict[str, float]:
        with open(self.ann_file) as f:
            gt = json.load(f)
        by_name = {c['name']: c['id'] for c in gt['categories']}
        classes = (self.dataset_meta or {}).get('classes')
        if classes is None or any(name not in by_name for name in classes):
            raise KeyError(
                f'VOCMaskAPMetric: the dataset classes {classes} are not all '
                f'categories of {self.ann_file} ({sorted(by_name)})'
            )
        cat_ids = [by_name[name] for name in classes]
        ids = {r['img_id'] for r in results}
        gt = dict(
            gt,
            images=[img for img in gt['images'] if img['id'] in ids],
            annotations=[a for a in gt['annotations'] if a['image_id'] in ids],
        )
        dets = [
            dict(
                image_id=r['img_id'],
                category_id=cat_ids[label],
                segmentation=rle,
                score=score,
            )
            for r in results
            for label, score, rle in zip(r['labels'], r['scores'], r['masks'])
        ]
        out = voc_instance_metrics(gt, dets, self.iou_thrs)
        return {k.removeprefix('voc_'): round(v, 2) for k, v in out.items()}
