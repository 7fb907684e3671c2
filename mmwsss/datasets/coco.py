"""COCO 2014 with image-level labels for weakly supervised segmentation."""

import os.path as osp
from collections.abc import Sequence

import mmengine
import mmengine.fileio as fileio
from mmseg.datasets import BaseSegDataset

from ..registry import DATASETS
from .coco_meta import COCO_CLASSES, is_coco_root  # noqa: F401 (public here)
from .palette import voc_palette
from .voc import ImageLabelMixin, check_images_exist, map_label_indices

COCO_PALETTE = voc_palette(len(COCO_CLASSES))


def coco_category_map(
    categories: Sequence[dict], class_names: Sequence[str] | None = None
) -> dict[int, int]:
    """Map COCO category ids, sorted, to segmentation indices 1..N.

    Args:
        categories (Sequence[dict]): The ``categories`` of a COCO json.
        class_names (Sequence[str], optional): Expected foreground class
            names in index order (background excluded); the json's names,
            sorted by id, must match them. Default: None (no check).

    Returns:
        dict[int, int]: COCO category id -> segmentation index.

    Raises:
        ValueError: If the categories do not match ``class_names``.
    """
    cats = sorted(categories, key=lambda cat: cat['id'])
    if class_names is not None:
        names = [cat['name'] for cat in cats]
        if len(names) != len(class_names):
            raise ValueError(
                f'the annotation file has {len(names)} categories but the dataset '
                f'has {len(class_names)} foreground classes'
            )
        wrong = [(a, b) for a, b in zip(names, class_names) if a != b]
        if wrong:
            raise ValueError(
                'category names of the annotation file (sorted by id) differ from '
                f'the dataset classes, e.g. {wrong[0][0]!r} vs {wrong[0][1]!r}'
            )
    return {cat['id']: index for index, cat in enumerate(cats, start=1)}


@DATASETS.register_module()
class WSSSCOCODataset(ImageLabelMixin, BaseSegDataset):
    """COCO 2014 with image-level labels read from an instances json.

    The labels of an image are the categories of its non-crowd instances,
    mapped (sorted by category id) to indices 1..80. Pixel masks are optional:
    ``tools/dataset_converters/coco_wsss.py`` writes them as class-index PNGs
    named after the image file.

    Args:
        ann_file (str): COCO instances json, relative to ``data_root``.
        data_prefix (dict): ``img_path`` (image folder) and ``seg_map_path``
            (folder of semantic PNGs, or ``''`` / None for none). An image
            whose mask file is missing gets ``seg_map_path=None``.
            Default: ``dict(img_path='train2014', seg_map_path=None)``.
        img_suffix (str): Image file suffix. Default: '.jpg'.
        seg_map_suffix (str): Mask file suffix. Default: '.png'.
        filter_empty (bool): Drop images without any non-crowd instance and
            log how many were dropped. Default: False.
        check_files (bool): Check at load time that every image file exists.
            Default: True.
        **kwargs: Passed to :class:`mmseg.datasets.BaseSegDataset`.
    """

    METAINFO = dict(classes=COCO_CLASSES, palette=COCO_PALETTE)

    def __init__(
        self,
        ann_file: str,
        data_prefix: dict | None = None,
        img_suffix: str = '.jpg',
        seg_map_suffix: str = '.png',
        filter_empty: bool = False,
        check_files: bool = True,
        **kwargs,
    ) -> None:
        if data_prefix is None:
            data_prefix = dict(img_path='train2014', seg_map_path=None)
        data_prefix = dict(data_prefix)
        if not data_prefix.get('seg_map_path'):
            data_prefix.pop('seg_map_path', None)
        if kwargs.get('reduce_zero_label', False):
            raise ValueError(
                f'{type(self).__name__} keeps index 0 as background; '
                'reduce_zero_label=True is not supported'
            )
        self.filter_empty = filter_empty
        self.check_files = check_files
        super().__init__(
            ann_file=ann_file,
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            data_prefix=data_prefix,
            **kwargs,
        )

    def load_data_list(self) -> list[dict]:
        """Build the data infos from the instances json.

        Returns:
            list[dict]: One data info per image (sorted by image id) with
            ``img_path``, ``seg_map_path``, ``img_labels``, ``label_map``,
            ``reduce_zero_label`` and ``seg_fields``.
        """
        coco = mmengine.load(
            self.ann_file, file_format='json', backend_args=self.backend_args
        )
        for key in ('images', 'annotations', 'categories'):
            if key not in coco:
                raise KeyError(f'{self.ann_file}: COCO json without {key!r}')
        cat_to_index = coco_category_map(
            coco['categories'], type(self).METAINFO['classes'][1:]
        )
        labels: dict[int, set[int]] = {img['id']: set() for img in coco['images']}
        for ann in coco['annotations']:
            if ann.get('iscrowd', 0):
                continue
            if ann['image_id'] not in labels:
                raise KeyError(
                    f'{self.ann_file}: annotation {ann.get("id")} refers to unknown '
                    f'image id {ann["image_id"]}'
                )
            if ann['category_id'] not in cat_to_index:
                raise KeyError(
                    f'{self.ann_file}: annotation {ann.get("id")} has unknown '
                    f'category id {ann["category_id"]}'
                )
            labels[ann['image_id']].add(cat_to_index[ann['category_id']])

        img_dir = self.data_prefix['img_path']
        seg_dir = self.data_prefix.get('seg_map_path')
        data_list = []
        for img in sorted(coco['images'], key=lambda img: img['id']):
            stem = osp.splitext(img['file_name'])[0]
            seg_map_path = None
            if seg_dir is not None:
                candidate = osp.join(seg_dir, stem + self.seg_map_suffix)
                if fileio.exists(candidate, backend_args=self.backend_args):
                    seg_map_path = candidate
            data_list.append(
                dict(
                    img_path=osp.join(img_dir, stem + self.img_suffix),
                    seg_map_path=seg_map_path,
                    img_labels=map_label_indices(
                        sorted(labels[img['id']]), self.label_map
                    ),
                    label_map=self.label_map,
                    reduce_zero_label=self.reduce_zero_label,
                    seg_fields=[],
                )
            )
        if self.check_files:
            check_images_exist(data_list, self.backend_args)
        return data_list
