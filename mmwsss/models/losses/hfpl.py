"""HFPL's losses as extra losses of a CAM head (``CAMHead(extra_losses=...)``)."""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmwsss.ops.hfpl import feature_similarity_loss, importance_sampling_loss

from ...registry import MODELS


@MODELS.register_module()
class ImportanceSamplingLoss(nn.Module):
    """HFPL's importance-sampling loss
    (:func:`mmwsss.ops.hfpl.importance_sampling_loss`).

    HFPL mixes it with the GAP classification loss, ``(1 - mix) * GAP + mix *
    IS`` (0.8 / 0.2): the head scales its own classification loss by ``1 -
    mix`` when this loss is among its extra losses.

    Args:
        mix (float): Share of the classification loss. Default: 0.2 (HFPL's).
        num_samples (int): Pixel positions per image and class. Default: 10.
        loss_name (str): Name in the log. Default: 'loss_is'.
    """

    def __init__(
        self, mix: float = 0.2, num_samples: int = 10, loss_name: str = 'loss_is'
    ) -> None:
        super().__init__()
        if not 0 < mix < 1:
            raise ValueError(f'mix must lie in (0, 1), got {mix}')
        self.mix = mix
        self.num_samples = num_samples
        self.loss_name = loss_name

    def forward(self, cam_logits, targets, images=None) -> torch.Tensor:
        loss = importance_sampling_loss(cam_logits, targets, self.num_samples)
        return self.mix * loss


@MODELS.register_module()
class FeatureSimilarityLoss(nn.Module):
    """HFPL's feature similarity loss (:func:`mmwsss.ops.hfpl.feature_similarity_loss`)
    between the image, resized to the class maps' grid, and the maps' sigmoid.

    Args:
        loss_weight (float): Default: 1.0.
        mu (float): Colour distance shift. Default: 2.5 (HFPL's).
        sigma (float): Spatial Gaussian in map pixels. Default: 5 (HFPL's).
        radius (int, optional): Pair offsets summed (default ``ceil(3 sigma)``).
        present_only (bool): Cover only the maps of each image's own classes
            (the loss then averages over those maps). HFPL's term rewards score
            differences across colour edges; on a class the image lacks, the
            classification loss wants the map at 0 everywhere, and the reward
            pulls parts of it up: on the bench set, with every map covered, the
            classification loss climbed from 0.5 to 8 within 40 iterations and
            the classifier ended at chance. Default: True.
        loss_name (str): Name in the log. Default: 'loss_fs'.
    """

    def __init__(
        self,
        loss_weight: float = 1.0,
        mu: float = 2.5,
        sigma: float = 5.0,
        radius: int | None = None,
        present_only: bool = True,
        loss_name: str = 'loss_fs',
    ) -> None:
        super().__init__()
        self.loss_weight = loss_weight
        self.mu, self.sigma, self.radius = mu, sigma, radius
        self.present_only = present_only
        self.loss_name = loss_name

    def forward(self, cam_logits, targets, images=None) -> torch.Tensor:
        if images is None:
            raise ValueError(
                'FeatureSimilarityLoss needs the images (in [0, 1]); the CAM '
                'classifier passes them to its head'
            )
        small = F.interpolate(
            images, size=cam_logits.shape[-2:], mode='bilinear', align_corners=False
        )
        loss = feature_similarity_loss(
            small,
            cam_logits,
            self.mu,
            self.sigma,
            self.radius,
            class_mask=targets if self.present_only else None,
        )
        return self.loss_weight * loss
