"""Online attention accumulation (OAA, Jiang et al., ICCV 2019) and OAA+'s
integral attention loss.

OAA trains the classifier on whole images (resized, randomly flipped, never
cropped) and, from its second epoch on, after each forward pass fuses the
attention of each of an image's classes (the class map, ReLU, min-max
normalised) into that image's accumulated map by element-wise maximum. The
maps here live on a grid of the original image (:func:`attention_to_image`
undoes the resize and the flip), keyed by the image's id, so the loader may
shuffle. OAA+ then trains a second, integral attention model on the
accumulated maps with :func:`integral_attention_loss`.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

_FLIP_DIMS = {'horizontal': [-1], 'vertical': [-2], 'diagonal': [-2, -1]}


def storage_size(ori_shape, stride: int) -> tuple[int, int]:
    return math.ceil(ori_shape[0] / stride), math.ceil(ori_shape[1] / stride)


def min_max_normalize(maps: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """``(m - min) / (max - min + eps)`` of each map of ``maps`` (``(..., H,
    W)``), OAA's normalisation of the attention it fuses and of the maps it
    exports; a constant map becomes 0."""
    if maps.numel() == 0:
        return maps
    flat = maps.flatten(-2)
    low = flat.min(dim=-1).values[..., None, None]
    high = flat.max(dim=-1).values[..., None, None]
    return (maps - low) / (high - low + eps)


def check_whole_image(meta: dict, what: str = 'OAA') -> None:
    """Raise unless ``meta`` describes the whole image, resized and perhaps
    flipped, but not cropped (``img_shape`` is ``ori_shape`` times the
    resize's ``scale_factor``, within a pixel).

    Raises:
        ValueError: The image was cropped (e.g. by ``RandomCrop``).
    """
    ori_h, ori_w = (int(v) for v in meta['ori_shape'][:2])
    w_scale, h_scale = meta.get('scale_factor') or (1.0, 1.0)
    img_h, img_w = (int(v) for v in meta['img_shape'][:2])
    if abs(img_h - ori_h * h_scale) > 1 or abs(img_w - ori_w * w_scale) > 1:
        raise ValueError(
            f'{meta.get("img_path")}: an input of {(img_h, img_w)} from an image '
            f'of {(ori_h, ori_w)} resized by {(h_scale, w_scale)}: it was cropped. '
            f'{what} works on whole images (resized and flipped only, as the OAA '
            'reference trains); remove the crop from the training pipeline (see '
            'configs/oaa/oaa_effl0_1xb16-8e_fashionpaste-160.py)'
        )


def flip_maps(maps: torch.Tensor, flip: bool, direction: str | None) -> torch.Tensor:
    """``maps`` (``(..., H, W)``) flipped in ``direction`` when ``flip`` (a
    flip undoes itself)."""
    if not flip:
        return maps
    if direction not in _FLIP_DIMS:
        raise ValueError(f'unknown flip direction {direction!r}')
    return maps.flip(_FLIP_DIMS[direction])


def attention_to_image(
    attention: torch.Tensor,
    ori_shape,
    flip: bool = False,
    flip_direction: str | None = None,
    stride: int = 4,
) -> np.ndarray:
    """A whole image's attention on the original image's grid.

    Args:
        attention (Tensor): ``(h, w)`` attention of the resized (and perhaps
            flipped) image, at its pixel size, values in [0, 1].
        ori_shape: ``(H, W)`` of the original image.
        flip (bool): Whether the image was flipped. Default: False.
        flip_direction (str, optional): 'horizontal', 'vertical' or
            'diagonal'.
        stride (int): The stored grid's stride on the original image.

    Returns:
        np.ndarray: ``(ceil(H / stride), ceil(W / stride))`` float32 attention.
    """
    canvas = flip_maps(attention, flip, flip_direction)
    size = storage_size(ori_shape, stride)
    out = F.interpolate(
        canvas[None, None].float(), size=size, mode='bilinear', align_corners=False
    )
    return out[0, 0].clamp(0, 1).cpu().numpy().astype(np.float32)


def attention_targets(
    maps: torch.Tensor,
    keys: torch.Tensor,
    num_classes: int,
    img_shape,
    input_size,
    flip: bool = False,
    flip_direction: str | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """An image's accumulated maps as the integral attention model's targets
    on its (padded) input.

    Args:
        maps (Tensor): ``(K, h, w)`` accumulated maps on the original image's
            grid (any stride), values in [0, 1].
        keys (Tensor): ``(K,)`` class index (1-based) of each map.
        num_classes (int): Foreground classes of the model.
        img_shape: ``(h_r, w_r)`` of the resized image.
        input_size: ``(H_in, W_in)`` of the padded batch input.
        flip (bool): Whether the image was flipped. Default: False.
        flip_direction (str, optional): Its direction.

    Returns:
        tuple[Tensor, Tensor]: ``(num_classes, H_in, W_in)`` targets (zero for
        the classes the image does not have) and the ``(H_in, W_in)`` bool
        mask of the image's pixels (False on the padding).
    """
    h_r, w_r = (int(v) for v in img_shape[:2])
    height, width = (int(v) for v in input_size)
    targets = maps.new_zeros((num_classes, height, width))
    valid = torch.zeros((height, width), dtype=torch.bool, device=maps.device)
    valid[:h_r, :w_r] = True
    if maps.shape[0]:
        resized = F.interpolate(
            maps[None].float(), size=(h_r, w_r), mode='bilinear', align_corners=False
        )[0]
        # the image was flipped after the resize: flip the maps the same way
        targets[keys.long() - 1, :h_r, :w_r] = flip_maps(resized, flip, flip_direction)
    return targets, valid


def resize_targets(
    targets: torch.Tensor, valid: torch.Tensor, size
) -> tuple[torch.Tensor, torch.Tensor]:
    """Targets and their valid mask at a score map's size.

    Args:
        targets (Tensor): ``(N, C, H, W)`` targets.
        valid (Tensor): ``(N, H, W)`` bool, the pixels that count.
        size: ``(h, w)`` of the score maps.

    Returns:
        tuple[Tensor, Tensor]: The targets area-averaged to ``size`` and the
        ``(N, h, w)`` bool mask of the cells at least half of whose pixels
        count.
    """
    if tuple(targets.shape[-2:]) == tuple(size):
        return targets, valid
    targets = F.interpolate(targets, size=tuple(size), mode='area')
    valid = F.interpolate(valid[:, None].float(), size=tuple(size), mode='area')
    return targets, valid[:, 0] >= 0.5


def integral_attention_loss(
    logits: torch.Tensor,
    targets: torch.Tensor,
    valid: torch.Tensor | None = None,
    pos_thr: float = 1 / 255,
) -> torch.Tensor:
    """OAA+'s loss of the integral attention model, averaged over the batch.

    Per image, over every class channel and pixel: a pixel-class whose target
    is at least ``pos_thr`` is positive, weighted by its target, ``-t log
    sigmoid(x)``, averaged over the positives; the others (all pixels of the
    classes the image lacks included) are negative, ``-log(1 - sigmoid(x))``,
    averaged over the negatives; the image's loss is the sum of both means.

    Args:
        logits (Tensor): ``(N, C, h, w)`` score maps.
        targets (Tensor): ``(N, C, h, w)`` accumulated attention in [0, 1].
        valid (Tensor, optional): ``(N, h, w)`` bool, the pixels that count
            (padding excluded). Default: None (all).
        pos_thr (float): Smallest positive target. Default: 1 / 255 (the
            reference's maps are 8-bit: a value under one level is 0 there).

    Returns:
        Tensor: The scalar loss.
    """
    if logits.shape != targets.shape:
        raise ValueError(f'logits {logits.shape} and targets {targets.shape} differ')
    if valid is None:
        valid = torch.ones_like(targets[:, 0], dtype=torch.bool)
    valid = valid[:, None].expand_as(targets)
    pos = (targets >= pos_thr) & valid
    neg = (targets < pos_thr) & valid
    # -log sigmoid(x) = softplus(-x), -log(1 - sigmoid(x)) = softplus(x)
    pos_loss = (targets * F.softplus(-logits) * pos).flatten(1).sum(1)
    neg_loss = (F.softplus(logits) * neg).flatten(1).sum(1)
    num_pos = pos.flatten(1).sum(1)
    num_neg = neg.flatten(1).sum(1)
    per_image = pos_loss / num_pos.clamp(min=1) + neg_loss / num_neg.clamp(min=1)
    return per_image.mean()


def fuse_attention(old: np.ndarray | None, new: np.ndarray) -> np.ndarray:
    """OAA's fusion of an attention map into the accumulated one: the
    element-wise maximum, kept in float16 (maps in [0, 1]; rounding is
    monotone, so the maximum of rounded maps is the rounded maximum and the
    fusion is order-free).

    Args:
        old (np.ndarray, optional): The accumulated map, or None.
        new (np.ndarray): The attention to fuse, of the same shape.

    Returns:
        np.ndarray: The fused float16 map.

    Raises:
        ValueError: If the shapes differ.
    """
    new = np.asarray(new).astype(np.float16)
    if old is None:
        return new
    if old.shape != new.shape:
        raise ValueError(f'a map of {new.shape} fused after one of {old.shape}')
    return np.maximum(old.astype(np.float16), new)


def fuse_attention_maps(
    maps: dict[int, np.ndarray], other: dict[int, np.ndarray]
) -> dict[int, np.ndarray]:
    """Two accumulations of one image (class -> map) fused class by class
    (:func:`fuse_attention`): e.g. two ranks' maps of the image."""
    fused = dict(maps)
    for cls, attention in other.items():
        fused[cls] = fuse_attention(fused.get(cls), attention)
    return fused
