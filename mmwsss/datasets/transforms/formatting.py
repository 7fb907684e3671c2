"""Packing transform that adds image-level labels to the data sample."""

import numpy as np
import torch
from mmengine.structures import PixelData
from mmseg.datasets.transforms import PackSegInputs
from mmseg.registry import TRANSFORMS


@TRANSFORMS.register_module()
class PackWSSSInputs(PackSegInputs):
    """mmseg's :class:`PackSegInputs` plus ``gt_img_labels``.

    ``data_samples.gt_img_labels`` is a LongTensor of the image's foreground
    class indices (``results['img_labels']``), empty when the image has none
    or no labels were loaded. CAMs loaded by :class:`LoadCAMs` become
    ``cam_keys`` (LongTensor), ``cams_strided`` and ``cams`` (PixelData).

    Args:
        **kwargs: Passed to :class:`mmseg.datasets.transforms.PackSegInputs`
            (``meta_keys``).
    """

    def transform(self, results: dict) -> dict:
        """Pack image, masks, meta information and image-level labels.

        Args:
            results (dict): Result dict of the pipeline.

        Returns:
            dict: ``inputs`` and ``data_samples`` (a ``SegDataSample``).
        """
        packed = super().transform(results)
        labels = results.get('img_labels', [])
        sample = packed['data_samples']
        sample.gt_img_labels = torch.as_tensor(list(labels), dtype=torch.long)
        if 'cam_keys' in results:
            sample.cam_keys = torch.as_tensor(results['cam_keys'], dtype=torch.long)
        for key in ('cams_strided', 'cams'):
            if key in results:
                maps = torch.from_numpy(np.ascontiguousarray(results[key]))
                sample.set_data({key: PixelData(data=maps)})
        return packed
