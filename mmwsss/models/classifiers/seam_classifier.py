"""SEAM: the CAM classifier trained on two views with equivariance losses."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.structures import PixelData

from mmwsss.ops import cams_to_labels
from mmwsss.ops.seam import (
    adaptive_min_pooling_loss,
    add_background,
    ecr_loss,
    equivariance_loss,
    max_norm,
    pcm_input,
    pcm_revise,
)

from ...registry import MODELS
from .cam_classifier import CAMClassifier, labels_to_multihot


def _resize(x: torch.Tensor, size) -> torch.Tensor:
    # SEAM resizes its views and maps with align_corners=True throughout
    return F.interpolate(x, size=tuple(size), mode='bilinear', align_corners=True)


@MODELS.register_module()
class SEAMClassifier(CAMClassifier):
    """SEAM (Wang et al., CVPR 2020) on a CAM classifier, as SEAM's reference
    code (YudeWang/SEAM) trains it.

    Training sees each image twice, as given and rescaled by ``scale`` (0.3),
    through the same network. Both views' CAMs and PCM-revised CAMs are
    resized to their view's input size; the large view's are then resized to
    the small view's, where the losses compare them:

    - classification: the CAM classifier's loss of each view, averaged;
    - min-pooling (``loss_rvmin``): SEAM's adaptive min-pooling loss of each
      view's revised CAM (label-masked, full size), averaged;
    - ER: mean absolute difference of the two views' CAMs after SEAM's
      ``max_norm`` (min-max after ReLU) times the image labels;
    - ECR: each view's revised CAM, ``max_norm``-ed again and label-masked
      (background kept), against the other view's ``max_norm``-ed CAM with
      its background ``1 - max`` and each pixel's top class only
      (``max_onehot``), detached; the top ``ecr_fraction`` of the differences
      per image, both directions summed.

    All weighted 1. The pixel correlation module (PCM) makes
    ``pcm_out_channels`` features from the image (resized to the CAM grid)
    and two detached backbone outputs (``pcm_in_indices``, projected to 64
    and 128 channels with a ReLU, then fused by a 1x1 convolution) and revises
    the detached CAM as SEAM's network builds it (max-normalised, background
    ``1 - max`` over all classes, each pixel's top class only, no labels:
    :func:`mmwsss.ops.seam.pcm_input`) with their affinities; PCM learns from
    ECR and the min-pooling loss only. The CAM head sees its input through a
    2-d dropout (SEAM's ``dropout7``) in training.

    At inference the revised CAM replaces the CAM (multi-scale + flip as the
    CAM classifier's), and the summed maps are min-max normalised as SEAM's
    ``infer_SEAM.py`` does (the CAM classifier divides by the maximum only;
    a revised map's minimum is well above 0, an affinity-weighted mean).

    The CAM head's ``extra_losses`` (e.g. HFPL's) apply to the first view's
    CAM logits; a loss with a ``mix`` share of the classification loss
    (HFPL's importance sampling) mixes into the first view's classification
    loss, so it is halved with it by the two views' average (as HFPL's code,
    arvijj/hfpl, does).

    Args:
        pcm_in_channels (Sequence[int]): Channels of the backbone outputs PCM
            reads.
        pcm_in_indices (Sequence[int]): Positions in the backbone's outputs of
            the two stages PCM reads. Default: (0, 1).
        pcm_channels (Sequence[int]): Their projections. Default: (64, 128).
        pcm_out_channels (int): PCM feature size. Default: 192.
        scale (float): The second view's rescaling factor. Default: 0.3.
        ecr_fraction (float): Share of the largest differences in ECR.
            Default: 0.2.
        cam_dropout (float): 2-d dropout on the CAM head's input in training.
            Default: 0.5 (SEAM's).
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
        cam_dropout: float = 0.5,
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
        if not 0 <= cam_dropout < 1:
            raise ValueError(f'cam_dropout must lie in [0, 1), got {cam_dropout}')
        self.pcm_in_indices = tuple(pcm_in_indices)
        self.pcm_proj = nn.ModuleList(
            nn.Conv2d(c_in, c_out, 1, bias=False)
            for c_in, c_out in zip(pcm_in_channels, pcm_channels)
        )
        fused = 3 + sum(pcm_channels)
        self.pcm_fuse = nn.Conv2d(fused, pcm_out_channels, 1, bias=False)
        # SEAM's initialisation of its new layers (f8_3, f8_4, f9)
        for proj in self.pcm_proj:
            nn.init.kaiming_normal_(proj.weight)
        nn.init.xavier_uniform_(self.pcm_fuse.weight, gain=4)
        self.cam_dropout = nn.Dropout2d(cam_dropout)
        self.scale = scale
        self.ecr_fraction = ecr_fraction

    def pcm_features(self, inputs: torch.Tensor, feats) -> torch.Tensor:
        """PCM's features ``(N, pcm_out_channels, h, w)`` on the CAM grid."""
        grid = self.head._select(feats).shape[-2:]
        parts = [_resize(inputs, grid)]
        for index, proj in zip(self.pcm_in_indices, self.pcm_proj):
            stage = feats[index].detach()
            if stage.shape[-2:] != grid:
                stage = _resize(stage, grid)
            parts.append(F.relu(proj(stage)))
        return self.pcm_fuse(torch.cat(parts, dim=1))

    def _revised(self, inputs, feats, cams) -> torch.Tensor:
        """The revised maps ``(N, C + 1, h, w)``, background first."""
        return pcm_revise(pcm_input(cams), self.pcm_features(inputs, feats))

    def _train_cams(self, feats) -> torch.Tensor:
        """CAM logits with the head's input through the dropout."""
        if isinstance(feats, torch.Tensor):
            return self.head.cam(self.cam_dropout(feats))
        dropped = list(feats)
        dropped[self.head.in_index] = self.cam_dropout(dropped[self.head.in_index])
        return self.head.cam(dropped)

    def cam_logits(
        self, inputs: torch.Tensor, keys: torch.Tensor | None = None
    ) -> torch.Tensor:
        """The PCM-revised CAMs of the foreground classes (inference). ``keys``
        is ignored: as in SEAM, PCM's input does not depend on the image's
        classes; the export keeps the maps of those classes afterwards."""
        feats = self.extract_feat(inputs)
        return self._revised(inputs, feats, self.head.cam(feats))[:, 1:]

    def loss(self, inputs, data_samples) -> dict[str, torch.Tensor]:
        targets = labels_to_multihot(data_samples, self.num_classes, inputs.device)
        small = F.interpolate(
            inputs, scale_factor=self.scale, mode='bilinear', align_corners=True
        )
        size1, size2 = inputs.shape[-2:], small.shape[-2:]
        feats1, feats2 = self.extract_feat(inputs), self.extract_feat(small)
        cam1, cam2 = self._train_cams(feats1), self._train_cams(feats2)
        head = self.head
        share = getattr(head, 'cls_share', 1.0)
        cls = 0.5 * (
            share * head.loss_cls(cam1.mean(dim=(2, 3)), targets)
            + head.loss_cls(cam2.mean(dim=(2, 3)), targets)
        )
        # each view's maps at its input size, as SEAM's network returns them
        cam1_up, cam2_up = _resize(cam1, size1), _resize(cam2, size2)
        rv1 = _resize(self._revised(inputs, feats1, cam1), size1)
        rv2 = _resize(self._revised(small, feats2, cam2), size2)
        fg_mask = targets[:, :, None, None]  # (N, C, 1, 1)
        mask = F.pad(fg_mask, (0, 0, 0, 0, 1, 0), value=1.0)  # background kept
        rvmin = 0.5 * (
            adaptive_min_pooling_loss(rv1[:, 1:] * fg_mask)
            + adaptive_min_pooling_loss(rv2[:, 1:] * fg_mask)
        )
        # compared at the small view's size: max_norm, then the labels
        fg1 = _resize(max_norm(cam1_up), size2) * fg_mask
        fg2 = max_norm(cam2_up) * fg_mask
        rev1 = _resize(max_norm(rv1), size2) * mask
        rev2 = max_norm(rv2) * mask
        losses = {
            head.loss_cls.loss_name: cls,
            'loss_rvmin': rvmin,
            'loss_er': equivariance_loss(fg1, fg2),
            'loss_ecr': ecr_loss(
                rev1,
                add_background(fg2),
                rev2,
                add_background(fg1),
                self.ecr_fraction,
            ),
        }
        if getattr(head, 'extra_losses', None):
            images = self._images01(inputs)
            for extra in head.extra_losses:
                value = extra(cam1, targets, images)
                if hasattr(extra, 'mix'):
                    value = 0.5 * value  # part of view 1's classification loss
                losses[extra.loss_name] = value
        return losses

    def predict(self, inputs: torch.Tensor, data_samples=None):
        """The CAM classifier's inference on the revised CAMs, each summed map
        then min-max normalised (SEAM's ``max_norm``) and the labels redrawn
        at ``test_cfg.bg_score``."""
        samples = super().predict(inputs, data_samples)
        if self.scores_only:
            return samples
        for sample in samples:
            high = max_norm(sample.cams.data[None])[0]
            strided = max_norm(sample.cams_strided.data[None])[0]
            sample.set_data(
                dict(
                    cams=PixelData(data=high),
                    cams_strided=PixelData(data=strided),
                    pred_sem_seg=PixelData(
                        data=cams_to_labels(
                            high, sample.cam_keys, self.test_cfg.bg_score
                        )[None]
                    ),
                )
            )
        return samples
