"""AffinityNet (PSA, Ahn & Kwak, CVPR 2018): training terms and semantic labels.

Conventions follow PSA's reference code:

* **Map.** Affinity features live on the stride-8 map of the image padded at the
  bottom and right to a multiple of 8, so the map is ``ceil(H / 8) x ceil(W /
  8)`` and covers the image exactly (PSA pads the image with zeros after
  normalisation, and the CAMs with zeros).
* **Labels on the map.** PSA average-pools its CRF score maps over 8 x 8 blocks
  and takes the argmax; from hard label maps (0 background, classes, 255
  unsure) the equivalent is the most frequent value of each block
  (:func:`downscale_labels`).
* **Walk.** The CAMs and the background ``(1 - max_c cam) ** alpha`` are
  average-pooled over 8 x 8 blocks, propagated by :func:`random_walk`,
  upsampled bilinearly and compared by argmax without any normalisation.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from .affinity import pair_label_masks
from .random_walk import random_walk

#: Stride of AffinityNet's feature map.
PSA_STRIDE = 8


def _masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``values`` over ``mask``; 0 (with a gradient path) when empty."""
    mask = mask.to(values.dtype)
    return (values * mask).sum() / mask.sum().clamp(min=1)


def downscale_labels(
    labels: torch.Tensor,
    size: Sequence[int],
    stride: int = PSA_STRIDE,
    ignore_index: int = 255,
    mode: str = 'majority',
) -> torch.Tensor:
    """Label maps on the stride-``stride`` map.

    The maps are padded at the bottom and right with ``ignore_index`` to whole
    ``stride x stride`` blocks. With ``mode='majority'`` each block takes its
    most frequent value (``ignore_index`` counts as a value, so a mostly unsure
    block stays unsure; ties go to the smallest value): the hard-label analogue
    of PSA's training labels, the argmax of CRF scores average-pooled over the
    block. With ``mode='nearest'`` it takes its top-left pixel (PSA's variant
    for label PNGs, ``cv2.resize(fx=1 / 8, INTER_NEAREST)``). The result is
    then cropped, or padded with ``ignore_index``, at the bottom and right to
    ``size``.

    Args:
        labels (Tensor): ``(B, H, W)`` integer labels.
        size (Sequence[int]): ``(h, w)`` of the feature map.
        stride (int): Block size. Default: 8.
        ignore_index (int): Label of unsure pixels. Default: 255.
        mode (str): 'majority' or 'nearest'. Default: 'majority'.

    Returns:
        Tensor: ``(B, h, w)`` long labels.
    """
    if labels.dim() != 3 or labels.is_floating_point():
        raise ValueError(
            'downscale_labels expects (B, H, W) integer labels, got '
            f'{labels.dtype} of shape {tuple(labels.shape)}'
        )
    if mode not in ('majority', 'nearest'):
        raise ValueError(f"mode must be 'majority' or 'nearest', got {mode!r}")
    labels = labels.long()
    batch, height, width = labels.shape
    rows, cols = -(-height // stride), -(-width // stride)
    padded = F.pad(
        labels,
        (0, cols * stride - width, 0, rows * stride - height),
        value=ignore_index,
    )
    if mode == 'nearest':
        small = padded[:, ::stride, ::stride]
    else:
        blocks = padded.reshape(batch, rows, stride, cols, stride).transpose(2, 3)
        blocks = blocks.reshape(batch, rows, cols, stride * stride)
        values = torch.unique(blocks)  # sorted: argmax ties go to the smallest
        counts = torch.stack([(blocks == v).sum(-1) for v in values])  # [V, B, h, w]
        small = values[counts.argmax(dim=0)]  # [B, rows, cols]
    out_h, out_w = (int(v) for v in size)
    small = small[:, :out_h, :out_w]
    return F.pad(
        small,
        (0, out_w - small.shape[2], 0, out_h - small.shape[1]),
        value=ignore_index,
    )


def affinity_pair_losses(
    affinity: torch.Tensor,
    labels: torch.Tensor,
    radius: int = 5,
    ignore_index: int = 255,
    eps: float = 1e-5,
) -> dict[str, torch.Tensor]:
    """The three cross-entropy terms of AffinityNet on pairs within ``radius``.

    With pair sets from :func:`~mmwsss.ops.pair_label_masks`:

    * ``bg_pos`` = mean over background-background pairs of ``-log(a + eps)``;
    * ``fg_pos`` = the same over pairs of one foreground class;
    * ``neg`` = mean over pairs of two different labels of
      ``-log(1 + eps - a)``.

    PSA's loss is ``bg_pos / 4 + fg_pos / 4 + neg / 2``. A term whose pair set
    is empty is 0 (not NaN).

    Args:
        affinity (Tensor): ``(B, n_offsets, h, w)`` affinities in [0, 1], as
            from :func:`~mmwsss.ops.affinity_from_features`.
        labels (Tensor): ``(B, h, w)`` integer labels on the same map.
        radius (int): Pair radius of ``affinity``. Default: 5.
        ignore_index (int): Label of unsure pixels. Default: 255.
        eps (float): Added inside the logarithms. Default: 1e-5.

    Returns:
        dict[str, Tensor]: Scalars ``bg_pos``, ``fg_pos`` and ``neg``.
    """
    masks = pair_label_masks(labels, radius, ignore_index)  # each [B, P, h, w]
    if masks['neg'].shape != affinity.shape:
        raise ValueError(
            f'affinity of shape {tuple(affinity.shape)} does not match labels of '
            f'shape {tuple(labels.shape)} at radius {radius}'
        )
    pos_log = -torch.log(affinity + eps)
    return dict(
        bg_pos=_masked_mean(pos_log, masks['bg_pos']),
        fg_pos=_masked_mean(pos_log, masks['fg_pos']),
        neg=_masked_mean(-torch.log(1 + eps - affinity), masks['neg']),
    )


def psa_semantic_labels(
    cams: torch.Tensor,
    keys: torch.Tensor | Sequence[int],
    affinity: torch.Tensor,
    image_size: Sequence[int],
    radius: int = 5,
    beta: float = 8,
    steps: int = 256,
    alpha: float = 16,
    stride: int = PSA_STRIDE,
) -> torch.Tensor:
    """AffinityNet's semantic pseudo label of one image (PSA's ``infer_aff``).

    The background score ``(1 - max_c cam) ** alpha`` is stacked in front of
    the CAMs; the ``1 + K`` maps are zero-padded at the bottom and right to
    ``stride * (h, w)``, average-pooled over ``stride x stride`` blocks to the
    affinity map, propagated by :func:`~mmwsss.ops.random_walk` (``beta``,
    ``steps``), upsampled bilinearly by ``stride``, cropped to the image and
    compared by argmax (ties go to background). Channel ``i`` maps to class
    ``[0, *keys][i]``.

    Args:
        cams (Tensor): ``(K, H, W)`` full-resolution CAMs in [0, 1] of the
            image's classes (the CAM stage's ``high_res``).
        keys (Tensor | Sequence[int]): ``(K,)`` class index (1..C) of each map.
        affinity (Tensor): ``(n_offsets, h, w)`` forward-offset affinities on
            the stride-``stride`` map; ``stride * (h, w)`` must cover the image
            by less than one block of padding.
        image_size (Sequence[int]): ``(H, W)`` of the image, the CAMs' size.
        radius (int): Pair radius of ``affinity``. Default: 5.
        beta (float): Power of the affinities. Default: 8.
        steps (int): Walk steps (PSA: ``2 ** logt`` with ``logt = 8``).
            Default: 256.
        alpha (float): Exponent of the background score. Default: 16.
        stride (int): Stride of the affinity map. Default: 8.

    Returns:
        Tensor: ``(H, W)`` long class indices (0 = background); all background
        when ``K == 0``.
    """
    cams = torch.as_tensor(cams)
    if not cams.is_floating_point():
        cams = cams.float()
    keys = torch.as_tensor(keys, dtype=torch.long, device=cams.device).reshape(-1)
    img_h, img_w = (int(v) for v in image_size)
    if cams.dim() != 3 or cams.shape[0] != keys.numel():
        raise ValueError(
            f'cams must be (K, H, W) with one key per map, got shape '
            f'{tuple(cams.shape)} and {keys.numel()} keys'
        )
    if tuple(cams.shape[1:]) != (img_h, img_w):
        raise ValueError(
            f'CAMs of size {tuple(cams.shape[1:])} for an image of size '
            f'{(img_h, img_w)}: pass the full-resolution CAMs (LoadCAMs with '
            'high_res=True)'
        )
    if affinity.dim() != 3:
        raise ValueError(
            f'affinity must be (n_offsets, h, w), got {tuple(affinity.shape)}'
        )
    height, width = affinity.shape[1:]
    if not (
        stride * (height - 1) < img_h <= stride * height
        and stride * (width - 1) < img_w <= stride * width
    ):
        raise ValueError(
            f'an affinity map of {height}x{width} is not the stride-{stride} map '
            f'of an image of {img_h}x{img_w} (expected '
            f'{-(-img_h // stride)}x{-(-img_w // stride)})'
        )
    labels = torch.zeros((img_h, img_w), dtype=torch.long, device=cams.device)
    if keys.numel() == 0:
        return labels
    background = (1 - cams.max(dim=0, keepdim=True).values).clamp(min=0) ** alpha
    scores = torch.cat([background, cams])  # [1 + K, H, W]
    scores = F.pad(scores, (0, stride * width - img_w, 0, stride * height - img_h))
    pooled = F.avg_pool2d(scores[None], stride)[0]  # [1 + K, h, w]
    walked = random_walk(pooled, affinity.to(pooled), radius, beta, steps)
    up = F.interpolate(
        walked[None],
        size=(stride * height, stride * width),
        mode='bilinear',
        align_corners=False,
    )[0, :, :img_h, :img_w]
    lookup = F.pad(keys, (1, 0))  # [0, *keys]
    return lookup[up.argmax(dim=0)]
