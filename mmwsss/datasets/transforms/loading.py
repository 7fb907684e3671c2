"""Loading transforms that fail loudly and carry image-level labels."""

import mmengine.fileio as fileio
import numpy as np
from mmcv.transforms import BaseTransform, LoadImageFromFile
from mmseg.datasets.transforms import LoadAnnotations
from mmseg.registry import TRANSFORMS

from ..voc import check_label_indices


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
