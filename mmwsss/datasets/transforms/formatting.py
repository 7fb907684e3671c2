"""Packing transform that adds image-level labels to the data sample."""

import torch
from mmseg.datasets.transforms import PackSegInputs
from mmseg.registry import TRANSFORMS


@TRANSFORMS.register_module()
class PackWSSSInputs(PackSegInputs):
    """mmseg's :class:`PackSegInputs` plus ``gt_img_labels``.

    ``data_samples.gt_img_labels`` is a LongTensor of the image's foreground
    class indices (``results['img_labels']``), empty when the image has none
    or no labels were loaded.

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
        packed['data_samples'].gt_img_labels = torch.as_tensor(
            list(labels), dtype=torch.long
        )
        return packed
