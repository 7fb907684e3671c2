"""SEAM: the CAM classifier trained on two views with equivariance losses."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmwsss.ops.seam import (
    ecr_loss,
    equivariance_loss,
    pcm_revise,
    with_background,
)

from ...registry import MODELS
from .cam_classifier import CAMClassifier, labels_to_multihot


@MODELS.register_module()
class SEAMClassifier(CAMClassifier):
    """SEAM (Wang et al., CVPR 2020) on a CAM classifier.

    Training sees each image twice, as given and rescaled by ``scale`` (0.3),
    through the same network; the loss is the CAM classifier's on both views
    (their mean), ER (mean absolute difference of the two views' normalised
    CAMs, the large view's resized to the small one's grid) and ECR (the top
    ``ecr_fraction`` of the differences between one view's PCM-revised CAM and
    the other view's CAM, both ways), all weighted 1. The pixel correlation
    module (PCM) makes 192-d features from the image (resized to the CAM grid)
    and two detached backbone outputs (``pcm_in_indices``, projected to 64 and
    128 channels) and revises the normalised CAM (background ``1 - max``) with
    their affinities (:func:`mmwsss.ops.seam.pcm_revise`; the CAM detached, so
    PCM learns through the features only). At inference the revised CAM
    replaces the CAM (multi-scale + flip as the CAM classifier's).

    The CAM head's ``extra_losses`` (e.g. HFPL's) apply to the first view.

    Args:
        pcm_in_indices (Sequence[int]): Positions in the backbone's outputs of
            the two stages PCM reads. Default: (0, 1).
        pcm_in_channels (Sequence[int]): Their channels.
        pcm_channels (Sequence[int]): Their projections. Default: (64, 128).
        pcm_out_channels (int): PCM feature size. Default: 192.
        scale (float): The second view's rescaling factor. Default: 0.3.
        ecr_fraction (float): Share of the largest differences in ECR.
            Default: 0.2.
        **kwargs: Passed to :class:`CAMClassifier`.
    """

    def __init__(
        self,
        pcm_in_channels: Sequence[int],
        pcm_in_indices: Sequence[int] = (0, 1),
        pcm_channels: Sequence[int] = (64, 128),
        pcm_out_channels: int = 192,
        scale: float = 0.3,
        ecr_fraction: float = 0.2,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        if len({len(pcm_in_indices), len(pcm_in_channels), len(pcm_channels)}) != 1:
            raise ValueError(
                'pcm_in_indices, pcm_in_channels and pcm_channels must have one '
                'entry per backbone output PCM reads'
            )
        if not 0 < scale < 1:
            raise ValueError(f'scale must lie in (0, 1), got {scale}')
        self.pcm_in_indices = tuple(pcm_in_indices)
        self.pcm_proj = nn.ModuleList(
            nn.Conv2d(c_in, c_out, 1, bias=False)
            for c_in, c_out in zip(pcm_in_channels, pcm_channels)
        )
        fused = 3 + sum(pcm_channels)
        self.pcm_fuse = nn.Conv2d(fused, pcm_out_channels, 1, bias=False)
        self.scale = scale
        self.ecr_fraction = ecr_fraction

    def pcm_features(self, inputs: torch.Tensor, feats) -> torch.Tensor:
        """PCM's features ``(N, pcm_out_channels, h, w)`` on the CAM grid."""
        grid = self.head._select(feats).shape[-2:]
        parts = [F.interpolate(inputs, size=grid, mode='bilinear', align_corners=False)]
        for index, proj in zip(self.pcm_in_indices, self.pcm_proj):
            stage = F.interpolate(
                feats[index].detach(), size=grid, mode='bilinear', align_corners=False
            )
            parts.append(F.relu(proj(stage)))
        return self.pcm_fuse(torch.cat(parts, dim=1))

    def _revised(self, inputs, feats, cams, labels=None) -> torch.Tensor:
        normalised = with_background(cams.detach(), labels)
        return pcm_revise(normalised, self.pcm_features(inputs, feats))

    def cam_logits(
        self, inputs: torch.Tensor, keys: torch.Tensor | None = None
    ) -> torch.Tensor:
        """The PCM-revised CAMs of the foreground classes (inference); with
        ``keys`` (the image's classes, 1-based) only those classes' maps take
        part in the background and the revision, as in training."""
        feats = self.extract_feat(inputs)
        cams = self.head.cam(feats)
        labels = None
        if keys is not None:
            labels = cams.new_zeros(cams.shape[:2])
            labels[:, keys.long() - 1] = 1
        return self._revised(inputs, feats, cams, labels)[:, 1:]

    def loss(self, inputs, data_samples) -> dict[str, torch.Tensor]:
        targets = labels_to_multihot(data_samples, self.num_classes, inputs.device)
        small = F.interpolate(
            inputs, scale_factor=self.scale, mode='bilinear', align_corners=False
        )
        feats1, feats2 = self.extract_feat(inputs), self.extract_feat(small)
        cam1, cam2 = self.head.cam(feats1), self.head.cam(feats2)
        head = self.head
        share = getattr(head, 'cls_share', 1.0)
        cls = 0.5 * (
            head.loss_cls(cam1.mean(dim=(2, 3)), targets)
            + head.loss_cls(cam2.mean(dim=(2, 3)), targets)
        )
        grid = cam2.shape[-2:]

        def to_small(x):
            return F.interpolate(x, size=grid, mode='bilinear', align_corners=False)

        # background (1 - max of the image's classes) and the image's classes:
        # the maps the losses compare; the absent classes' maps are zero
        norm1 = to_small(with_background(cam1, targets))
        norm2 = with_background(cam2, targets)
        revised1 = to_small(self._revised(inputs, feats1, cam1, targets))
        revised2 = self._revised(small, feats2, cam2, targets)
        losses = {
            head.loss_cls.loss_name: share * cls,
            'loss_er': equivariance_loss(norm1[:, 1:], norm2[:, 1:]),
            # the other view's CAM is ECR's target, detached (as in SEAM's
            # code): ECR trains PCM; only ER and the classification move the
            # CAMs (attached, ECR pulled the CAMs towards their own smoothed
            # revision: on the bench set the classification loss then rose
            # from 0.6 to 3.7 within 55 iterations)
            'loss_ecr': ecr_loss(
                revised1,
                norm2.detach(),
                revised2,
                norm1.detach(),
                self.ecr_fraction,
            ),
        }
        if getattr(head, 'extra_losses', None):
            images = self._images01(inputs)
            for extra in head.extra_losses:
                losses[extra.loss_name] = extra(cam1, targets, images)
        return losses
