"""Per-image files of instance cues and pseudo labels: PRM's peak responses
(npz), instances (JSON) and their merge into one COCO file."""

from __future__ import annotations

import json
import os
import os.path as osp
from collections.abc import Mapping, Sequence

import numpy as np
import pycocotools.mask as mask_utils
import torch
from mmengine.structures import InstanceData

from ..evaluation.instance_ap import (
    _categories,
    _rle_bytes,
    as_instance_list,
    atomic_save_json,
    decode_mask,
    encode_mask,
)
from ..registry import EXPORTERS
from .exporters import TMP_SUFFIX, CAMExporter, sample_stem

#: The arrays of a :class:`PeakResponseExporter` file.
PEAK_KEYS = (
    'keys',
    'prm_class_maps',
    'peak_labels',
    'peak_points',
    'peak_values',
    'peak_responses',
)


@EXPORTERS.register_module()
class PeakResponseExporter(CAMExporter):
    """Saves a PRM classifier's visual cues of each image
    (:class:`~mmwsss.models.classifiers.PRMClassifier`) as
    ``{out_dir}/{image stem}.npz`` (plain arrays, compressed).

    File content: ``keys`` (K,) int16 the image's classes (``cam_keys``),
    ``prm_class_maps`` (K, h, w) float32 raw class response maps on the
    head's grid, ``peak_labels`` (P,) int16 class indices, ``peak_points``
    (P, 2) int32 ``(y, x)`` in image pixels, ``peak_values`` (P,) float32 raw
    responses, ``peak_responses`` (P, H', W') float16 peak response maps
    divided by their maximum (:func:`load_peak_responses` restores the sum
    of 1). Metrics read nothing of it: :meth:`load` leaves a resumed sample
    as it is.

    Args:
        out_dir (str): Output folder; ``{work_dir}`` is replaced by the runner's
            work dir.
    """

    def __init__(self, out_dir: str) -> None:
        super().__init__(out_dir)

    def save(self, sample) -> None:
        prms = sample.peak_responses.detach().cpu().float()
        if len(prms):
            prms = prms / prms.flatten(1).amax(dim=1).clamp(min=1e-12).view(-1, 1, 1)
        arrays = dict(
            keys=sample.cam_keys.cpu().numpy().astype(np.int16),
            prm_class_maps=sample.prm_class_maps.detach().cpu().numpy(),
            peak_labels=sample.peak_labels.cpu().numpy().astype(np.int16),
            peak_points=sample.peak_points.cpu().numpy().astype(np.int32),
            peak_values=sample.peak_values.detach().cpu().numpy().astype(np.float32),
            peak_responses=prms.numpy().astype(np.float16),
        )
        path = self.path(sample.metainfo)
        tmp = path + TMP_SUFFIX
        with open(tmp, 'wb') as f:
            np.savez_compressed(f, **arrays)
        os.replace(tmp, path)

    def load(self, sample):
        return sample


def load_peak_responses(path: str) -> dict[str, np.ndarray]:
    """PRM's cues of one image from its :class:`PeakResponseExporter` file.

    Returns:
        dict: the file's arrays, ``keys``, ``peak_labels`` and
        ``peak_points`` as int64, the others float32, ``peak_responses``
        ((P, H', W')) each summing to 1.

    Raises:
        FileNotFoundError: If the file is missing (names the image).
        KeyError: If it is no peak response file.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'no peak responses for image '
            f'{osp.splitext(osp.basename(path))[0]!r}: {path} is missing'
        )
    with np.load(path) as data:
        missing = [key for key in PEAK_KEYS if key not in data.files]
        if missing:
            raise KeyError(
                f'{path} is no peak response file (PeakResponseExporter): it '
                f'lacks {missing}'
            )
        found = {key: data[key] for key in PEAK_KEYS}
    for key in ('keys', 'peak_labels', 'peak_points'):
        found[key] = found[key].astype(np.int64)
    found['peak_points'] = found['peak_points'].reshape(-1, 2)
    for key in ('prm_class_maps', 'peak_values'):
        found[key] = found[key].astype(np.float32)
    prms = found['peak_responses'].astype(np.float32)
    total = prms.sum(axis=(1, 2), keepdims=True)
    found['peak_responses'] = prms / np.maximum(total, 1e-12)
    return found


@EXPORTERS.register_module()
class InstanceExporter(CAMExporter):
    """Saves each image's ``pred_instances`` as ``{out_dir}/{image stem}.json``.

    File content (plain JSON)::

        {"file_name": "2007_000032.jpg", "height": H, "width": W,
         "instances": [{"category_id": c, "score": s,
                        "segmentation": {"size": [H, W], "counts": "..."}}]}

    ``category_id`` is the class index and ``segmentation`` a COCO RLE;
    :func:`merge_instance_jsons` assigns image ids and merges the files into
    one COCO file. ``pred_instances`` may be a list of dicts (``mask``,
    ``label``, ``score``) or an ``InstanceData``; :meth:`load` restores an
    ``InstanceData`` with ``masks`` ((N, H, W) bool tensor), ``labels`` (long)
    and ``scores`` (float).

    Args:
        out_dir (str): Output folder; ``{work_dir}`` is replaced by the runner's
            work dir.
    """

    def __init__(self, out_dir: str) -> None:
        super().__init__(out_dir)

    def path(self, metainfo: dict) -> str:
        return osp.join(self.out_dir, sample_stem(metainfo) + '.json')

    def save(self, sample) -> None:
        instances = as_instance_list(sample.pred_instances)
        if 'ori_shape' in sample.metainfo:
            height, width = sample.metainfo['ori_shape'][:2]
        elif instances:
            height, width = instances[0]['mask'].shape
        else:
            raise KeyError(
                'exporting an image without instances needs ori_shape in the data '
                'sample metainfo'
            )
        for inst in instances:
            if inst['mask'].shape != (height, width):
                raise ValueError(
                    f'{sample.metainfo["img_path"]}: a mask is '
                    f'{inst["mask"].shape}, the image {(height, width)}'
                )
        atomic_save_json(
            self.path(sample.metainfo),
            dict(
                file_name=osp.basename(sample.metainfo['img_path']),
                height=int(height),
                width=int(width),
                instances=[
                    dict(
                        category_id=inst['label'],
                        score=inst['score'],
                        segmentation=encode_mask(inst['mask']),
                    )
                    for inst in instances
                ],
            ),
        )

    def load(self, sample):
        """Fill ``pred_instances`` of ``sample`` from its JSON file."""
        masks, labels, scores = load_instance_json(self.path(sample.metainfo))
        sample.pred_instances = InstanceData(
            masks=torch.from_numpy(masks),
            labels=torch.from_numpy(labels),
            scores=torch.from_numpy(scores),
        )
        return sample


def load_instance_json(path: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One image's instances from its :class:`InstanceExporter` file.

    Returns:
        tuple: ``masks`` ((N, H, W) bool), ``labels`` ((N,) int64 class
        indices) and ``scores`` ((N,) float32), in the file's order.
    """
    with open(path) as f:
        record = json.load(f)
    size = (record['height'], record['width'])
    instances = record['instances']
    masks = np.zeros((len(instances), *size), dtype=bool)
    for i, inst in enumerate(instances):
        masks[i] = decode_mask(inst['segmentation'])
    labels = np.array([inst['category_id'] for inst in instances], dtype=np.int64)
    scores = np.array([inst['score'] for inst in instances], dtype=np.float32)
    return masks, labels, scores


def merge_instance_jsons(
    out_dir: str,
    images: dict | Mapping[str, int],
    dst: str,
    as_annotations: bool = False,
    min_score: float | None = None,
    classes: Sequence[str] | None = None,
) -> dict | list:
    """Merge the per-image files of :class:`InstanceExporter` into one COCO file.

    Args:
        out_dir (str): Folder of the ``{stem}.json`` files.
        images (dict | Mapping[str, int]): A COCO dict (its ``images`` give the
            ids, by the stem of ``file_name``; its ``categories`` are reused),
            or a mapping from image stem to image id. Every listed image needs
            its file.
        dst (str): Output JSON path (written atomically).
        as_annotations (bool): False writes a COCO *results* list
            (``image_id``, ``category_id``, ``segmentation``, ``score``) for
            ``COCO.loadRes`` / :func:`instance_ap`. True writes a COCO
            *dataset* (``images``, ``annotations`` with ``area``, ``bbox``,
            ``iscrowd`` 0 and ``score``, ``categories``) to train Mask R-CNN
            on. Default: False.
        min_score (float, optional): Instances scored below it are left out.
            Default: None: keep all in results (IRN ranks zero-score fragments
            last), drop zero-score fragments (score < 1e-5) in annotations, as
            IRN does for training.
        classes (Sequence[str], optional): Class names by class index (0 being
            background) for ``categories`` when ``images`` is a mapping.
            Default: None (the category ids present, named by number).

    Returns:
        dict | list: What was written.
    """
    if isinstance(images, Mapping) and 'images' in images:
        ids = {osp.splitext(img['file_name'])[0]: img['id'] for img in images['images']}
        categories = images.get('categories')
    else:
        ids, categories = dict(images), None
    if min_score is None:
        min_score = 1e-5 if as_annotations else -float('inf')
    paths = {stem: osp.join(out_dir, stem + '.json') for stem in ids}
    missing = [stem for stem, path in paths.items() if not osp.exists(path)]
    if missing:
        raise FileNotFoundError(
            f'{len(missing)} image(s) have no instance file in {out_dir} (e.g. '
            f'{missing[0]}.json); run the instance export on them first'
        )
    image_infos, entries = [], []
    for stem, image_id in sorted(ids.items(), key=lambda item: item[1]):
        with open(paths[stem]) as f:
            record = json.load(f)
        image_infos.append(
            dict(
                id=int(image_id),
                file_name=record['file_name'],
                height=record['height'],
                width=record['width'],
            )
        )
        for inst in record['instances']:
            if inst['score'] >= min_score:
                entries.append(dict(inst, image_id=int(image_id)))
    if not as_annotations:
        merged = [
            dict(
                image_id=e['image_id'],
                category_id=e['category_id'],
                segmentation=e['segmentation'],
                score=e['score'],
            )
            for e in entries
        ]
    else:
        annotations = []
        for e in entries:
            coded = _rle_bytes(e['segmentation'])
            annotations.append(
                dict(
                    id=len(annotations) + 1,
                    image_id=e['image_id'],
                    category_id=e['category_id'],
                    segmentation=e['segmentation'],
                    area=float(mask_utils.area(coded)),
                    bbox=[float(v) for v in mask_utils.toBbox(coded)],
                    iscrowd=0,
                    score=e['score'],
                )
            )
        if categories is None:
            categories = _categories(classes, {a['category_id'] for a in annotations})
        merged = dict(
            images=image_infos, annotations=annotations, categories=categories
        )
    dst_dir = osp.dirname(osp.abspath(dst))
    os.makedirs(dst_dir, exist_ok=True)
    atomic_save_json(dst, merged)
    return merged
