"""OAA+'s integral attention model: trained on OAA's accumulated maps."""

from __future__ import annotations

import torch
from mmseg.structures import SegDataSample

from mmwsss.ops.oaa import attention_targets, check_whole_image

from ...registry import MODELS
from .cam_classifier import CAMClassifier


@MODELS.register_module()
class IntegralAttentionModel(CAMClassifier):
    """The integral attention model of OAA+ (Jiang et al., ICCV 2019).

    A backbone and an :class:`~mmwsss.models.heads.IntegralAttentionHead`
    trained, from the backbone's ImageNet weights as in the reference, to
    reproduce OAA's accumulated attention pixel by pixel: each training
    sample carries its image's accumulated maps (``cams_strided`` and
    ``cam_keys``, loaded by ``LoadCAMs`` from the OAA stage's folder); they
    are resized and flipped as the image was, zero for the classes it lacks,
    and the head area-averages them to its map size (the reference's targets
    are at its score map's size) and scores them with
    :class:`~mmwsss.models.losses.IntegralAttentionLoss`, the padding left
    out. Training inputs must be whole images (resized, flipped; a crop is
    an error), as the reference trains. Inference is the CAM classifier's
    (``test_cfg``): the ReLU of the head's maps, max-normalised, exported in
    the CAM seed format, so the pipeline's Thresholds and Labels stages read
    them as they read CAMs.

    Args:
        **kwargs: Passed to :class:`CAMClassifier` (``backbone``, ``head``,
            ``test_cfg``, ...).
    """

    def loss(
        self, inputs: torch.Tensor, data_samples: list[SegDataSample]
    ) -> dict[str, torch.Tensor]:
        targets, valid = self.targets(inputs, data_samples)
        return self.head.loss(self.extract_feat(inputs), targets, valid)

    def targets(
        self, inputs: torch.Tensor, data_samples: list[SegDataSample]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The batch's accumulated maps as targets on the padded input.

        Returns:
            tuple[Tensor, Tensor]: ``(N, C, H_in, W_in)`` targets and the
            ``(N, H_in, W_in)`` bool mask of the image pixels (False on the
            padding).
        """
        targets, valid = [], []
        for sample in data_samples:
            meta = sample.metainfo
            if 'cams_strided' not in sample or 'cam_keys' not in sample:
                raise KeyError(
                    f'{meta.get("img_path", "a sample")} has no accumulated maps: '
                    "the integral attention model trains on OAA's maps; add "
                    "dict(type='LoadCAMs', cam_dir=<the OAA stage's oaa_maps>) to "
                    'the training pipeline'
                )
            check_whole_image(meta, 'the integral attention model')
            keys = sample.cam_keys.long().to(inputs.device)
            if keys.numel() and (keys.min() < 1 or keys.max() > self.num_classes):
                raise ValueError(
                    f'{meta.get("img_path")}: map of class {keys.max().item()} '
                    f"outside the head's foreground classes 1..{self.num_classes}"
                )
            target, mask = attention_targets(
                sample.cams_strided.data.float().to(inputs.device),
                keys,
                self.num_classes,
                meta['img_shape'],
                inputs.shape[-2:],
                flip=meta.get('flip', False),
                flip_direction=meta.get('flip_direction'),
            )
            targets.append(target)
            valid.append(mask)
        return torch.stack(targets), torch.stack(valid)
