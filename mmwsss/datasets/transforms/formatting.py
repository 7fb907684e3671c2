"""Packing transform that adds image-level labels to the data sample."""

import numpy as np
import torch
from mmengine.structures import PixelData
from mmseg.datasets.transforms import PackSegInputs

from ...registry import TRANSFORMS


@TRANSFORMS.register_module()
class PackWSSSInputs(PackSegInputs):
    """mmseg's :class:`PackSegInputs` plus ``gt_img_labels``.

    ``data_samples.gt_img_labels`` is a LongTensor of the image's foreground
    class indices (``results['img_labels']``, set by the WSSS datasets and
    checked by :class:`LoadImageLevelLabels`), empty for an image without a
    foreground class; the metainfo's ``img_labels`` holds them as a tuple.
    Results without ``img_labels`` are an error by default: packing them as
    "no class" would train a classifier on all-negative targets. Pipelines
    whose model needs no image-level labels (IRN, AffinityNet) set
    ``require_labels=False``; their samples then have no
    ``gt_img_labels`` unless the dataset provides labels. CAMs loaded by
    :class:`LoadCAMs` become ``cam_keys`` (LongTensor), ``cams_strided`` and
    ``cams`` (PixelData).

    Args:
        require_labels (bool): Raise if the results carry no image-level
            labels. Default: True.
        **kwargs: Passed to :class:`mmseg.datasets.transforms.PackSegInputs`
            (``meta_keys``).
    """

    def __init__(self, require_labels: bool = True, **kwargs) -> None:
        super().__init__(**kwargs)
        self.require_labels = require_labels

    def transform(self, results: dict) -> dict:
        """Pack image, masks, meta information and image-level labels.

        Args:
            results (dict): Result dict of the pipeline.

        Returns:
            dict: ``inputs`` and ``data_samples`` (a ``SegDataSample``).

        Raises:
            KeyError: If ``require_labels`` and the results have no
                ``img_labels``.
        """
        if self.require_labels and 'img_labels' not in results:
            raise KeyError(
                f'image {results.get("img_path")} has no image-level labels to pack '
                "(results['img_labels']): add dict(type='LoadImageLevelLabels') "
                'before PackWSSSInputs, with from_seg_map=True after the mask '
                'loading when the dataset gives no labels (e.g. a stock mmseg '
                'dataset); a pipeline whose model needs no image-level labels '
                "sets dict(type='PackWSSSInputs', require_labels=False)"
            )
        packed = super().transform(results)
        sample = packed['data_samples']
        if 'img_labels' in results:
            labels = list(results['img_labels'])
            sample.gt_img_labels = torch.as_tensor(labels, dtype=torch.long)
            # also in the metainfo: decode heads get only the metainfo at
            # inference (LabelConditionedASPPHead)
            sample.set_metainfo(dict(img_labels=tuple(int(c) for c in labels)))
        if 'cam_keys' in results:
            sample.cam_keys = torch.as_tensor(results['cam_keys'], dtype=torch.long)
        for key in ('cams_strided', 'cams'):
            if key in results:
                maps = torch.from_numpy(np.ascontiguousarray(results[key]))
                sample.set_data({key: PixelData(data=maps)})
        return packed

    def __repr__(self) -> str:
        return f'{super().__repr__()[:-1]}, require_labels={self.require_labels})'
