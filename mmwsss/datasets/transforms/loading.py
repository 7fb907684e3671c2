"""Loading transforms that fail loudly and carry image-level labels."""

import os.path as osp

import mmengine.fileio as fileio
import numpy as np
from mmcv.transforms import BaseTransform, LoadImageFromFile
from mmseg.datasets.transforms import LoadAnnotations

from ...registry import TRANSFORMS
from ...utils.map_file import load_map_file
from ..voc import check_label_indices, labels_from_mask


@TRANSFORMS.register_module()
class LoadImageFromFileChecked(LoadImageFromFile):
    """Load an image; a missing or undecodable file raises an error naming it.

    mmcv's :class:`LoadImageFromFile` fails on a corrupt file with a bare
    assertion or a decoder error that does not say which file it was.

    Args:
        **kwargs: Passed to :class:`mmcv.transforms.LoadImageFromFile`
            (``to_float32``, ``color_type``, ``imdecode_backend``,
            ``ignore_empty``, ``backend_args``).
    """

    def transform(self, results: dict) -> dict | None:
        """Load ``results['img_path']``.

        Args:
            results (dict): Needs ``img_path``.

        Returns:
            dict | None: ``results`` with ``img``, ``img_shape`` and
            ``ori_shape``; None for an unreadable file when ``ignore_empty``.

        Raises:
            FileNotFoundError: If the file does not exist.
            OSError: If the file cannot be decoded as an image.
        """
        filename = results['img_path']
        if not fileio.exists(filename, backend_args=self.backend_args):
            if self.ignore_empty:
                return None
            raise FileNotFoundError(f'image file not found: {filename}')
        try:
            loaded = super().transform(results)
        except Exception as error:  # decoders raise many types; name the file
            if self.ignore_empty:
                return None
            raise OSError(
                f'cannot decode image file {filename} (corrupt or not an image): '
                f'{type(error).__name__}: {error}'
            ) from error
        return loaded


@TRANSFORMS.register_module()
class LoadOptionalAnnotations(LoadAnnotations):
    """mmseg's :class:`LoadAnnotations` that skips images without a mask.

    An image whose data info has ``seg_map_path=None`` passes through
    unchanged (no ``gt_seg_map``), so one pipeline serves images with and
    without pixel ground truth.

    Args:
        **kwargs: Passed to :class:`mmseg.datasets.transforms.LoadAnnotations`.
    """

    def transform(self, results: dict) -> dict:
        """Load the mask if the image has one.

        Args:
            results (dict): Data info, possibly with ``seg_map_path``.

        Returns:
            dict: ``results``, with ``gt_seg_map`` when a mask exists.
        """
        if results.get('seg_map_path') is None:
            results.setdefault('seg_fields', [])
            return results
        return super().transform(results)


@TRANSFORMS.register_module()
class LoadAnnotationsChecked(LoadAnnotations):
    """mmseg's :class:`LoadAnnotations` that checks the mask it loads.

    Masks written by an earlier stage (pseudo masks, IR or PSA labels) are
    checked where they are read, so a bad file stops the run with its name
    instead of training on it: the mask must exist, be single-channel, have
    the size of its image (``ori_shape``, so load the image first) and hold
    only class indices ``0 .. num_classes - 1`` or 255 (ignore), counted after
    ``reduce_zero_label`` and the dataset's ``label_map``. The check costs one
    pass over the mask.

    Args:
        num_classes (int): Number of classes of the dataset, background
            included.
        **kwargs: Passed to :class:`mmseg.datasets.transforms.LoadAnnotations`
            (``reduce_zero_label``, ``backend_args``, ``imdecode_backend``).
    """

    def __init__(self, num_classes: int, **kwargs) -> None:
        super().__init__(**kwargs)
        if isinstance(num_classes, bool) or not isinstance(num_classes, int):
            raise TypeError(f'num_classes must be an int, got {num_classes!r}')
        if not 1 <= num_classes <= 255:
            raise ValueError(
                f'num_classes must lie in 1..255 (255 is the ignore index), got '
                f'{num_classes}'
            )
        self.num_classes = num_classes

    def transform(self, results: dict) -> dict:
        """Load ``results['seg_map_path']`` and check it.

        Args:
            results (dict): Needs ``seg_map_path`` and ``ori_shape`` (set by
                the image loading transform).

        Returns:
            dict: ``results`` with ``gt_seg_map``.

        Raises:
            FileNotFoundError: If the image has no mask or its file is missing.
            KeyError: If the image was not loaded before the mask.
            ValueError: If the mask is not single-channel, differs from the
                image in size or holds a value that is not a class index.
        """
        img_path = results.get('img_path')
        path = results.get('seg_map_path')
        if path is None:
            raise FileNotFoundError(
                f'image {img_path} has no mask (seg_map_path is None): its mask '
                "file is missing from the dataset's seg_map_path folder"
            )
        if 'ori_shape' not in results:
            raise KeyError(
                f'{type(self).__name__} checks the mask {path} against its image: '
                'load the image first (LoadImageFromFileChecked before it)'
            )
        results = super().transform(results)
        mask = results['gt_seg_map']
        labels_from_mask(mask, self.num_classes, f'mask {path}')
        image_size = tuple(results['ori_shape'][:2])
        if mask.shape != image_size:
            raise ValueError(
                f'mask {path}: size {mask.shape} differs from the size {image_size} '
                f'of its image {img_path}; masks must be written at the original '
                'image size'
            )
        return results

    def __repr__(self) -> str:
        return f'{super().__repr__()[:-1]}, num_classes={self.num_classes})'


@TRANSFORMS.register_module()
class LoadImageLevelLabels(BaseTransform):
    """Check the image-level labels, or derive them from the loaded mask.

    Keeps ``results['img_labels']`` (a sorted list of foreground class
    indices, background 0 never listed). If it is absent and
    ``from_seg_map`` is True, the labels are the values of ``gt_seg_map``
    other than 0 and ``ignore_index``.

    Args:
        from_seg_map (bool): Derive missing labels from ``gt_seg_map``.
            Default: False.
        ignore_index (int): Mask value that is not a class. Default: 255.
        num_classes (int, optional): Number of classes, background included;
            when given, labels must lie in ``1 .. num_classes - 1``.
            Default: None (only checks that they are positive ints).
    """

    def __init__(
        self,
        from_seg_map: bool = False,
        ignore_index: int = 255,
        num_classes: int | None = None,
    ) -> None:
        self.from_seg_map = from_seg_map
        self.ignore_index = ignore_index
        self.num_classes = num_classes

    def transform(self, results: dict) -> dict:
        """Set ``results['img_labels']`` to a validated sorted list of ints.

        Args:
            results (dict): Needs ``img_labels``, or ``gt_seg_map`` when
                ``from_seg_map`` is True.

        Returns:
            dict: ``results`` with ``img_labels``.

        Raises:
            KeyError: If there are no labels and none can be derived.
            TypeError / ValueError: If the labels are not valid indices.
        """
        where = f'image {results.get("img_path")}'
        labels = results.get('img_labels')
        if labels is None:
            if not self.from_seg_map:
                raise KeyError(
                    f'{where} has no img_labels; use a dataset that provides them '
                    '(e.g. WSSSVOCDataset) or set from_seg_map=True'
                )
            if 'gt_seg_map' not in results:
                raise KeyError(
                    f'{where} has neither img_labels nor gt_seg_map to derive them '
                    'from; put LoadOptionalAnnotations before LoadImageLevelLabels'
                )
            values = np.unique(results['gt_seg_map'])
            labels = [int(v) for v in values if v != 0 and v != self.ignore_index]
        results['img_labels'] = check_label_indices(labels, self.num_classes, where)
        return results

    def __repr__(self) -> str:
        return (
            f'{type(self).__name__}(from_seg_map={self.from_seg_map}, '
            f'ignore_index={self.ignore_index}, num_classes={self.num_classes})'
        )


@TRANSFORMS.register_module()
class LoadCAMs(BaseTransform):
    """Load an image's CAMs written by the CAM stage (:class:`CAMExporter`).

    Reads ``{cam_dir}/{image stem}.npz`` and sets ``results['cam_keys']`` (the
    image's foreground class indices), ``results['cams_strided']`` (the
    stride-4 maps, refinement's input) and, when ``high_res`` is True,
    ``results['cams']`` (full-resolution maps). :class:`PackWSSSInputs` puts
    them into the data sample under the same names as the CAM classifier's
    predictions. Geometric transforms do not touch these maps: use this in
    test pipelines without resizing.

    Args:
        cam_dir (str): Folder of the ``.npz`` files.
        high_res (bool): Also load the full-resolution maps. Default: False.
    """

    def __init__(self, cam_dir: str, high_res: bool = False) -> None:
        self.cam_dir = cam_dir
        self.high_res = high_res

    def transform(self, results: dict) -> dict:
        """Load the CAMs of ``results['img_path']``.

        Args:
            results (dict): Needs ``img_path`` (and ``ori_shape`` to check
                the full-resolution maps' size, when loaded).

        Returns:
            dict: ``results`` with ``cam_keys``, ``cams_strided`` (and
            ``cams``).

        Raises:
            FileNotFoundError: If the image has no CAM file.
            ValueError: If the file's maps do not match its keys or the image.
        """
        stem = osp.splitext(osp.basename(results['img_path']))[0]
        path = osp.join(self.cam_dir, stem + '.npz')
        if not osp.exists(path):
            raise FileNotFoundError(
                f'no CAM file for image {results["img_path"]}: {path} (run the CAM '
                'stage export first, or fix cam_dir)'
            )
        names = ('cam', 'high_res') if self.high_res else ('cam',)
        keys, maps = load_map_file(path, names)
        strided, high_res = maps['cam'], maps.get('high_res')
        if strided.shape[0] != len(keys):
            raise ValueError(f'{path}: {len(keys)} keys but {strided.shape[0]} maps')
        if high_res is not None and 'ori_shape' in results:
            if tuple(high_res.shape[1:]) != tuple(results['ori_shape'][:2]):
                raise ValueError(
                    f'{path}: maps of size {tuple(high_res.shape[1:])} for an image '
                    f'of size {tuple(results["ori_shape"][:2])}'
                )
        results['cam_keys'] = keys
        results['cams_strided'] = strided
        if high_res is not None:
            results['cams'] = high_res
        return results

    def __repr__(self) -> str:
        return (
            f'{type(self).__name__}(cam_dir={self.cam_dir!r}, '
            f'high_res={self.high_res})'
        )
