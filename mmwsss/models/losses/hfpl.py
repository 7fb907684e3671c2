"""HFPL's losses as extra losses of a CAM head (``CAMHead(extra_losses=...)``)."""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmwsss.ops.hfpl import (
    HFPL_MAPS,
    feature_similarity_loss,
    hfpl_maps,
    importance_sampling_loss,
)

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
    between the image, resized to the class maps' grid, and HFPL's maps of the
    CAM logits (:func:`mmwsss.ops.hfpl.hfpl_maps`: SEAM's ``max_norm`` times
    the image labels, background ``1 - max`` first).

    The labels zero the maps of the classes an image lacks, so the loss moves
    only the maps of its own classes (and the background they define).

    Args:
        loss_weight (float): Default: 1.0 (HFPL's).
        mu (float): Colour distance shift. Default: 2.5 (HFPL's).
        sigma (float): Spatial Gaussian, in cells of a map at output stride
            ``sigma_stride``. Default: 5 (HFPL's).
        sigma_stride (int, optional): The stride ``sigma`` is counted in: the
            loss converts ``sigma * sigma_stride`` input pixels to cells of its
            own map (input size / map size). Default: 8 (HFPL's ResNet-38
            map, so sigma is 40 input pixels). None: ``sigma`` in the map's own
            cells.
        radius (int, optional): Pair offsets summed, in the map's cells
            (default ``ceil(3 sigma)`` of the converted sigma).
        maps (str): The maps compared (:func:`mmwsss.ops.hfpl.hfpl_maps`):
            ``'max_norm'`` (HFPL's); ablations ``'max'`` and ``'sigmoid'``.
            Default: 'max_norm'.
        loss_name (str): Name in the log. Default: 'loss_fs'.
    """

    def __init__(
        self,
        loss_weight: float = 1.0,
        mu: float = 2.5,
        sigma: float = 5.0,
        sigma_stride: int | None = 8,
        radius: int | None = None,
        maps: str = 'max_norm',
        loss_name: str = 'loss_fs',
    ) -> None:
        super().__init__()
        if sigma <= 0:
            raise ValueError(f'sigma must be positive, got {sigma}')
        if sigma_stride is not None and sigma_stride <= 0:
            raise ValueError(f'sigma_stride must be positive, got {sigma_stride}')
        self.loss_weight = loss_weight
        self.mu, self.sigma, self.radius = mu, sigma, radius
        if maps not in HFPL_MAPS:
            raise ValueError(f'maps must be one of {HFPL_MAPS}, got {maps!r}')
        self.sigma_stride = sigma_stride
        self.maps = maps
        self.loss_name = loss_name

    def map_sigma(self, image_size, map_size) -> float:
        """``sigma`` in cells of a map of ``map_size`` from an input of
        ``image_size``."""
        if self.sigma_stride is None:
            return self.sigma
        stride = image_size[-1] / map_size[-1]
        return self.sigma * self.sigma_stride / stride

    def forward(self, cam_logits, targets, images=None) -> torch.Tensor:
        if images is None:
            raise ValueError(
                'FeatureSimilarityLoss needs the images (in [0, 1]); the CAM '
                'classifier passes them to its head'
            )
        grid = cam_logits.shape[-2:]
        small = F.interpolate(images, size=grid, mode='bilinear', align_corners=True)
        loss = feature_similarity_loss(
            small,
            hfpl_maps(cam_logits, targets, self.maps),
            self.mu,
            self.map_sigma(images.shape[-2:], grid),
            self.radius,
        )
        return self.loss_weight * loss
