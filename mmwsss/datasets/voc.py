"""PASCAL VOC style datasets that carry image-level labels."""

import json
import os.path as osp
from collections.abc import Iterable, Sequence

import mmcv
import mmengine
import mmengine.fileio as fileio
import numpy as np
from mmengine.logging import print_log
from mmseg.datasets import BaseSegDataset
from tqdm import tqdm

from ..registry import DATASETS
from .coco_meta import COCO_CLASSES, is_coco_root
from .fashionpaste import FASHIONPASTE_CLASSES, FASHIONPASTE_PALETTE
from .palette import voc_palette

#: How many offending ids / paths an error or log message lists.
_SHOW = 5


VOC_CLASSES = (
    'background', 'aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus',
    'car', 'cat', 'chair', 'cow', 'diningtable', 'dog', 'horse', 'motorbike',
    'person', 'pottedplant', 'sheep', 'sofa', 'train', 'tvmonitor',
)  # fmt: skip
VOC_PALETTE = voc_palette(len(VOC_CLASSES))


def check_label_indices(
    labels: Iterable, num_classes: int | None, where: str
) -> list[int]:
    """Validate foreground class indices and return them sorted and unique.

    Args:
        labels (Iterable): Class indices of one image.
        num_classes (int, optional): Number of classes, background
            included; valid foreground indices are ``1 .. num_classes - 1``.
            None only requires positive indices.
        where (str): Names the image (and file) in error messages.

    Returns:
        list[int]: The sorted, de-duplicated indices.

    Raises:
        TypeError: If ``labels`` is not a sequence of integers.
        ValueError: If an index is outside ``1 .. num_classes - 1``.
    """
    if isinstance(labels, str | bytes | dict) or not isinstance(labels, Iterable):
        raise TypeError(f'{where}: image labels must be a list of ints, got {labels!r}')
    checked = set()
    for label in labels:
        if isinstance(label, bool | np.bool_) or not isinstance(
            label, int | np.integer
        ):
            raise TypeError(
                f'{where}: image labels must be ints, got {label!r} in {labels!r}'
            )
        if num_classes is None and label < 1:
            raise ValueError(
                f'{where}: label index {int(label)} is not a foreground class '
                'index (background 0 is never listed; indices start at 1)'
            )
        if num_classes is not None and not 1 <= label <= num_classes - 1:
            raise ValueError(
                f'{where}: label index {int(label)} is outside 1..{num_classes - 1} '
                f'(the dataset has {num_classes} classes, background included; '
                'background 0 is never listed)'
            )
        checked.add(int(label))
    return sorted(checked)


def map_label_indices(labels: Sequence[int], label_map: dict | None) -> list[int]:
    """Move labels into a reduced class space (``metainfo`` with fewer classes).

    Args:
        labels (Sequence[int]): Indices in the dataset's full class space.
        label_map (dict, optional): Old index -> new index (255 = dropped), as
            built by :meth:`BaseSegDataset.get_label_map`.

    Returns:
        list[int]: Sorted foreground indices in the new class space.
    """
    if label_map is None:
        return list(labels)
    mapped = {label_map.get(label, 255) for label in labels}
    return sorted(mapped - {0, 255})


def labels_from_mask(mask: np.ndarray, num_classes: int, where: str) -> list[int]:
    """Foreground classes present in a class-index mask.

    Args:
        mask (np.ndarray): ``(H, W)`` class indices, 255 = ignore.
        num_classes (int): Number of classes, background included.
        where (str): Names the mask file in error messages.

    Returns:
        list[int]: Sorted foreground indices (0 and 255 removed).

    Raises:
        ValueError: If the mask is not single-channel or holds a value that is
            neither 255 nor below ``num_classes``.
    """
    if mask.ndim != 2:
        raise ValueError(
            f'{where}: expected a single-channel class-index mask (palette or '
            f'grayscale PNG), got an array of shape {mask.shape}'
        )
    values = np.unique(mask)
    bad = [int(v) for v in values if v != 255 and v >= num_classes]
    if bad:
        raise ValueError(
            f'{where}: mask value {bad[0]} is outside 0..{num_classes - 1} '
            f'(and is not the ignore index 255); the dataset has {num_classes} '
            'classes'
        )
    return [int(v) for v in values if 0 < v < num_classes]


def check_images_exist(data_list: list[dict], backend_args: dict | None) -> None:
    """Raise if any image of ``data_list`` is missing.

    Args:
        data_list (list[dict]): Data infos with ``img_path``.
        backend_args (dict, optional): File backend arguments.

    Raises:
        FileNotFoundError: Names the count and the first few missing paths.
    """
    missing = [
        info['img_path']
        for info in data_list
        if not fileio.exists(info['img_path'], backend_args=backend_args)
    ]
    if missing:
        raise FileNotFoundError(
            f'{len(missing)} of {len(data_list)} image files are missing, e.g. '
            + ', '.join(missing[:_SHOW])
        )


def drop_empty(data_list: list[dict], dataset_name: str) -> list[dict]:
    """Remove data infos without foreground labels and log how many went.

    Args:
        data_list (list[dict]): Data infos with ``img_labels``.
        dataset_name (str): Used in the log line.

    Returns:
        list[dict]: The data infos with at least one foreground label.
    """
    kept = [info for info in data_list if info['img_labels']]
    dropped = [
        osp.splitext(osp.basename(info['img_path']))[0]
        for info in data_list
        if not info['img_labels']
    ]
    if dropped:
        print_log(
            f'{dataset_name}: filter_empty dropped {len(dropped)} of '
            f'{len(data_list)} images without foreground labels, e.g. '
            + ', '.join(dropped[:_SHOW]),
            logger='current',
        )
    return kept


class ImageLabelMixin:
    """Shared behaviour of datasets whose data infos carry ``img_labels``."""

    def filter_data(self) -> list[dict]:
        """Drop images without foreground labels when ``filter_empty``.

        Returns:
            list[dict]: The kept data infos.
        """
        if not self.filter_empty:
            return self.data_list
        return drop_empty(self.data_list, type(self).__name__)

    def get_cat_ids(self, idx: int) -> list[int]:
        """Foreground class indices of one image (for class-balanced wrappers).

        Args:
            idx (int): Index of the data info.

        Returns:
            list[int]: The image's ``img_labels``.
        """
        return list(self.get_data_info(idx)['img_labels'])


@DATASETS.register_module()
class WSSSVOCDataset(ImageLabelMixin, BaseSegDataset):
    """PASCAL VOC layout dataset with image-level labels.

    Each data info carries ``img_labels``: the sorted foreground class indices
    of the image in the segmentation class space (background 0 never listed).
    They come from ``label_file`` when one is given, otherwise from the pixel
    masks, which are then read once at initialisation.

    Layout::

        data_root/
            JPEGImages/{id}.jpg
            SegmentationClass/{id}.png      (optional, palette PNG)
            ImageSets/Segmentation/{split}.txt
            cls_labels.json                 ({"id": [indices]}, optional)

    Args:
        ann_file (str): Split file listing one image id per line, relative to
            ``data_root``. An empty string lists every image under the image
            folder instead.
        label_file (str, optional): JSON file ``{id: [indices]}``; relative
            paths are resolved against ``data_root``. Default: None (labels
            are derived from the masks).
        data_prefix (dict): ``img_path`` and ``seg_map_path`` folders.
            ``seg_map_path`` may be ``''`` or None when there is no pixel
            ground truth; an image whose mask file is missing gets
            ``seg_map_path=None``. Default: ``dict(img_path='JPEGImages',
            seg_map_path='SegmentationClass')``.
        img_suffix (str): Image file suffix. Default: '.jpg'.
        seg_map_suffix (str): Mask file suffix. Default: '.png'.
        filter_empty (bool): Drop images without any foreground label and log
            how many were dropped. Default: False.
        check_files (bool): Check at load time that every image file exists.
            Default: True.
        **kwargs: Passed to :class:`mmseg.datasets.BaseSegDataset`.
    """

    METAINFO = dict(classes=VOC_CLASSES, palette=VOC_PALETTE)

    def __init__(
        self,
        ann_file: str,
        label_file: str | None = None,
        data_prefix: dict | None = None,
        img_suffix: str = '.jpg',
        seg_map_suffix: str = '.png',
        filter_empty: bool = False,
        check_files: bool = True,
        **kwargs,
    ) -> None:
        if data_prefix is None:
            data_prefix = dict(img_path='JPEGImages', seg_map_path='SegmentationClass')
        data_prefix = dict(data_prefix)
        # mmengine joins every prefix with data_root and rejects None, so a
        # dataset without pixel ground truth simply has no seg_map_path prefix.
        if not data_prefix.get('seg_map_path'):
            data_prefix.pop('seg_map_path', None)
        if kwargs.get('reduce_zero_label', False):
            raise ValueError(
                f'{type(self).__name__} keeps index 0 as background; '
                'reduce_zero_label=True is not supported'
            )
        self.label_file = label_file
        self.filter_empty = filter_empty
        self.check_files = check_files
        super().__init__(
            ann_file=ann_file,
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            data_prefix=data_prefix,
            **kwargs,
        )

    @property
    def num_source_classes(self) -> int:
        """Number of classes (background included) that stored labels index."""
        if self.label_map is not None:
            return len(type(self).METAINFO['classes'])
        return len(self._metainfo['classes'])

    def _join_prefix(self) -> None:
        """Also resolve ``label_file`` against ``data_root``."""
        super()._join_prefix()
        if (
            self.label_file
            and self.data_root
            and not osp.isabs(self.label_file)
            and '://' not in self.label_file
        ):
            self.label_file = osp.join(self.data_root, self.label_file)

    def _list_image_ids(self) -> list[str]:
        """Ids from the split file, or from the image folder if none given."""
        if self.ann_file:
            lines = mmengine.list_from_file(
                self.ann_file, backend_args=self.backend_args
            )
            return [line.strip() for line in lines if line.strip()]
        img_dir = self.data_prefix['img_path']
        names = fileio.list_dir_or_file(
            img_dir,
            list_dir=False,
            suffix=self.img_suffix,
            recursive=True,
            backend_args=self.backend_args,
        )
        return sorted(name[: -len(self.img_suffix)] for name in names)

    def _load_label_file(self) -> dict:
        """Read ``label_file`` as a dict of id -> list of indices."""
        labels = mmengine.load(
            self.label_file, file_format='json', backend_args=self.backend_args
        )
        if not isinstance(labels, dict):
            raise TypeError(
                f'{self.label_file}: expected a JSON object {{"<image id>": '
                f'[indices]}}, got {type(labels).__name__}'
            )
        return labels

    def _read_mask(self, path: str) -> np.ndarray:
        """Read a class-index mask the way mmseg's LoadAnnotations does."""
        img_bytes = fileio.get(path, backend_args=self.backend_args)
        return mmcv.imfrombytes(img_bytes, flag='unchanged', backend='pillow')

    def load_data_list(self) -> list[dict]:
        """Build the data infos, image-level labels included.

        Returns:
            list[dict]: One data info per image with ``img_path``,
            ``seg_map_path`` (None without a mask), ``img_labels``,
            ``label_map``, ``reduce_zero_label`` and ``seg_fields``.
        """
        ids = self._list_image_ids()
        img_dir = self.data_prefix['img_path']
        seg_dir = self.data_prefix.get('seg_map_path')
        num_classes = self.num_source_classes

        data_list = []
        for img_id in ids:
            seg_map_path = None
            if seg_dir is not None:
                candidate = osp.join(seg_dir, img_id + self.seg_map_suffix)
                if fileio.exists(candidate, backend_args=self.backend_args):
                    seg_map_path = candidate
            data_list.append(
                dict(
                    img_path=osp.join(img_dir, img_id + self.img_suffix),
                    seg_map_path=seg_map_path,
                    label_map=self.label_map,
                    reduce_zero_label=self.reduce_zero_label,
                    seg_fields=[],
                )
            )
        if self.check_files:
            check_images_exist(data_list, self.backend_args)

        if self.label_file:
            all_labels = self._load_label_file()
            for img_id, info in zip(ids, data_list):
                if img_id not in all_labels:
                    raise KeyError(
                        f'image id {img_id!r} of {self.ann_file} has no entry in '
                        f'label file {self.label_file}'
                    )
                info['img_labels'] = check_label_indices(
                    all_labels[img_id],
                    num_classes,
                    f'{self.label_file}, image {img_id!r}',
                )
        else:
            no_mask = [i for i, info in zip(ids, data_list) if not info['seg_map_path']]
            if no_mask:
                raise FileNotFoundError(
                    f'{len(no_mask)} images have neither a label_file entry nor a '
                    f'mask under {seg_dir}, e.g. '
                    + ', '.join(no_mask[:_SHOW])
                    + '; pass label_file or provide the masks'
                )
            for info in tqdm(
                data_list, desc='image labels from masks', unit='mask', leave=False
            ):
                mask = self._read_mask(info['seg_map_path'])
                info['img_labels'] = labels_from_mask(
                    mask, num_classes, info['seg_map_path']
                )
        for info in data_list:
            info['img_labels'] = map_label_indices(info['img_labels'], self.label_map)
        return data_list


@DATASETS.register_module()
class FashionPasteDataset(WSSSVOCDataset):
    """The FashionPaste benchmark: VOC layout, 10 product classes.

    Args:
        ann_file (str): Split file, e.g. ``'ImageSets/Segmentation/train.txt'``.
        img_suffix (str): Image file suffix. Default: '.jpg'.
        **kwargs: Passed to :class:`WSSSVOCDataset`.
    """

    METAINFO = dict(classes=FASHIONPASTE_CLASSES, palette=FASHIONPASTE_PALETTE)

    def __init__(self, ann_file: str, img_suffix: str = '.jpg', **kwargs) -> None:
        super().__init__(ann_file=ann_file, img_suffix=img_suffix, **kwargs)


def split_ids(data_root: str, split: str) -> list[str]:
    """Image ids listed in ``{data_root}/ImageSets/Segmentation/{split}.txt``.

    For COCO 2014, ``tools/dataset_converters/coco_wsss.py`` writes these
    lists (e.g. ``train2014.txt``: the images with an object) into the COCO
    root.

    Raises:
        FileNotFoundError: If the split file does not exist.
    """
    path = osp.join(data_root, 'ImageSets', 'Segmentation', f'{split}.txt')
    if not osp.isfile(path):
        raise FileNotFoundError(f'split file {path} not found')
    with open(path, encoding='utf-8') as f:
        return [line.split()[0] for line in f if line.strip()]


def dataset_classes(data_root: str) -> list[str]:
    """Class names (background first) of the dataset at ``data_root``.

    Read from a generated dataset's manifest (``fashionpaste.json``) when there
    is one; COCO's 80 classes for a COCO root (one with
    ``annotations/instances_*.json``); PASCAL VOC's otherwise.
    """
    manifest = osp.join(data_root, 'fashionpaste.json')
    if osp.isfile(manifest):
        with open(manifest, encoding='utf-8') as f:
            return list(json.load(f)['classes'])
    if is_coco_root(data_root):
        return list(COCO_CLASSES)
    return list(VOC_CLASSES)
