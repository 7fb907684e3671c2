"""Instance-segmentation mask AP (COCO protocol) for IRN's instance pseudo labels.

Predicted and ground-truth instances travel as COCO run-length encodings (RLE,
``counts`` as a str so they serialise to JSON). Category ids are the
segmentation class indices of the dataset (1..C, background 0 is never a
category), so the ``classes`` of an mmseg dataset name them directly.

Ground truth in the VOC layout is two PNGs per image: ``SegmentationObject``
(instance ids 1, 2, ..., 0 background, 255 unsure) and ``SegmentationClass``
(the class of every pixel). Unsure pixels belong to no instance, as in
chainercv's ``VOCInstanceSegmentationDataset`` used by IRN's evaluation.

AP is computed by pycocotools' ``COCOeval`` (``iouType='segm'``): 101-point
interpolated precision, ``AP50`` at IoU 0.5 and ``AP`` averaged over IoU
0.50:0.05:0.95, at most 100 detections per image. IRN's published numbers use
chainercv's VOC AP (all-point interpolation), which differs slightly.
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
        dict: ``AP50`` and ``AP`` (0..100). 0 when there are no results; NaN
        when the ground truth has no instance to find.
    """
    if not gt_coco.get('annotations'):
        out = dict(AP50=float('nan'), AP=float('nan'))
        return dict(out, summary='') if return_summary else out
    if not results:
        out = dict(AP50=0.0, AP=0.0)
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
    ap, ap50 = (float(v) for v in evaluator.stats[:2])
    out = dict(
        AP50=ap50 * 100 if ap50 >= 0 else float('nan'),
        AP=ap * 100 if ap >= 0 else float('nan'),
    )
    return dict(out, summary=summary.getvalue()) if return_summary else out


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
    """Mask AP50 / AP of predicted instances against VOC instance ground truth.

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
        return {'AP50': round(ap['AP50'], 2), 'AP': round(ap['AP'], 2)}
