"""Ground-truth instances of a VOC-layout split as a COCO json.

A split's instances live in two PNGs per image (the VOC layout, which the
generated FashionPaste set uses too): ``SegmentationObject`` (instance ids 1,
2, ..., 0 background, 255 boundary / unsure) and ``SegmentationClass`` (the
class of every pixel). :func:`voc_instances_to_coco` turns them into a COCO
dataset that mmdet's ``CocoDataset`` and ``CocoMetric`` read:

- ``images``: one per image id of the split, ids 1..N in split order,
  ``file_name`` ``{id}{img_suffix}`` (relative to the images folder);
- ``annotations``: one per instance id of the object PNG, its mask as a
  compressed RLE (pycocotools; exact, unlike polygons), ``area`` and ``bbox``
  from the mask, ``iscrowd`` 0; 255 pixels belong to no instance;
- ``categories``: the dataset's class names but background, ids 1..C in class
  order (the class index of the masks), so a COCO category id equals the
  segmentation class index, as in IRN's instance pseudo labels.
"""

from __future__ import annotations

import os
import os.path as osp
from collections.abc import Sequence

from ..evaluation.instance_ap import atomic_save_json, build_voc_instance_gt
from .voc import dataset_classes, split_ids


def voc_instances_to_coco(
    data_root: str,
    split: str,
    classes: Sequence[str] | None = None,
    object_dir: str = 'SegmentationObject',
    class_dir: str = 'SegmentationClass',
    img_suffix: str = '.jpg',
) -> dict:
    """COCO ground truth of a VOC-layout split's instances.

    Args:
        data_root (str): Dataset root holding ``ImageSets/Segmentation/
            {split}.txt``, ``object_dir`` and ``class_dir``.
        split (str): Split name, e.g. 'val'.
        classes (Sequence[str], optional): Class names by class index,
            background first. Default: None (the dataset's own, see
            :func:`mmwsss.datasets.dataset_classes`).
        object_dir (str): Instance-id PNG folder. Default: 'SegmentationObject'.
        class_dir (str): Class PNG folder. Default: 'SegmentationClass'.
        img_suffix (str): Suffix of the images' ``file_name``. Default: '.jpg'.

    Returns:
        dict: A COCO dataset (``images``, ``annotations``, ``categories``).

    Raises:
        FileNotFoundError: If an image of the split has no object or class PNG.
    """
    ids = split_ids(data_root, split)
    for folder in (object_dir, class_dir):
        missing = [
            i for i in ids if not osp.isfile(osp.join(data_root, folder, i + '.png'))
        ]
        if missing:
            raise FileNotFoundError(
                f'{len(missing)} image(s) of split {split!r} have no mask in '
                f'{osp.join(data_root, folder)} (e.g. {missing[0]}.png); instance '
                f'ground truth needs a {object_dir} and a {class_dir} PNG per image'
            )
    if classes is None:
        classes = dataset_classes(data_root)
    return build_voc_instance_gt(
        data_root,
        ids,
        classes=classes,
        object_dir=object_dir,
        class_dir=class_dir,
        img_suffix=img_suffix,
    )


def write_coco_gt(data_root: str, split: str, out_file: str, **kwargs) -> dict:
    """Write :func:`voc_instances_to_coco` of a split to ``out_file``.

    Args:
        data_root (str): See :func:`voc_instances_to_coco`.
        split (str): See :func:`voc_instances_to_coco`.
        out_file (str): The json to write (atomically; folders are created).
        **kwargs: Other arguments of :func:`voc_instances_to_coco`.

    Returns:
        dict: What was written.
    """
    coco = voc_instances_to_coco(data_root, split, **kwargs)
    os.makedirs(osp.dirname(osp.abspath(out_file)), exist_ok=True)
    atomic_save_json(out_file, coco)
    return coco
