"""IRN instance pseudo labels (Ahn, Cho & Kwak, CVPR 2019) as pure functions.

IRN's displacement branch predicts, for every pixel of the stride-4 map, the
offset ``D(p) = (dy, dx)`` (in stride-4 pixels) from ``p`` to the centroid of
its instance. Instance pseudo labels follow the published procedure:

1. :func:`displacement_to_centroids`: every pixel walks ``p <- p + D(p)`` for
   300 iterations (``D`` sampled bilinearly at the fractional position, the
   position clamped to the map after every step) and the end point is rounded.
2. :func:`cluster_centroids`: the *centroid map* is where the displacement is
   weak (``|D| < 2.5``): there pixels sit at their own centroid. Its
   4-connected components are the instance candidates, and every pixel takes
   the component its end point lands in. Pixels whose end point lands outside
   the centroid map form one more group of their own (as in the reference).
3. :func:`instance_pseudo_labels`: every class CAM is restricted to every
   group (``K * N`` instance CAMs), multiplied by ``1 - boundary``, propagated
   by IRN's random walk, upsampled x4, divided by the global maximum; with a
   constant background score the argmax gives each pixel an instance channel.
   Each 4-connected segment of a channel's mask is one instance, scored by the
   channel's maximum inside it; segments smaller than 1% of the image keep
   score 0 (they stay in the list, as in the reference, and rank last).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

from .affinity import boundary_to_affinity
from .random_walk import random_walk


def _as_float_tensor(x, name: str) -> torch.Tensor:
    x = torch.as_tensor(x)
    if not x.is_floating_point():
        x = x.float()
    if not torch.isfinite(x).all():
        raise ValueError(f'{name} must be finite')
    return x


def _check_displacement(displacement: torch.Tensor) -> None:
    if displacement.dim() != 3 or displacement.shape[0] != 2:
        raise ValueError(
            'displacement must be a (2, h, w) field of (dy, dx), got shape '
            f'{tuple(displacement.shape)}'
        )


def displacement_to_centroids(
    displacement: torch.Tensor | np.ndarray, n_iters: int = 300
) -> torch.Tensor:
    """End points of every pixel following the displacement field.

    Starting from its own coordinates, every pixel moves ``p <- p + D(p)``
    ``n_iters`` times. ``D`` is sampled bilinearly at the fractional position,
    the position is clamped to ``[0, h - 1] x [0, w - 1]`` after every step and
    rounded (half to even) at the end, as in IRN. The loop stops early once no
    position moves (the remaining iterations would not change it).

    Args:
        displacement (Tensor | np.ndarray): ``(2, h, w)`` field; ``[0]`` is
            ``dy`` and ``[1]`` is ``dx``, in map pixels, pointing from each
            pixel to its instance centroid.
        n_iters (int): Number of iterations (IRN: 300, any value >= 100
            converges). Default: 300.

    Returns:
        Tensor: ``(2, h, w)`` long ``(y, x)`` end point of each pixel.
    """
    if isinstance(n_iters, bool) or not isinstance(n_iters, int) or n_iters < 0:
        raise ValueError(f'n_iters must be an int >= 0, got {n_iters!r}')
    disp = _as_float_tensor(displacement, 'displacement')
    _check_displacement(disp)
    height, width = disp.shape[1:]
    flat = disp.reshape(2, -1)  # [2, h * w]
    ys, xs = torch.meshgrid(
        torch.arange(height, dtype=disp.dtype, device=disp.device),
        torch.arange(width, dtype=disp.dtype, device=disp.device),
        indexing='ij',
    )
    pos = torch.stack([ys, xs]).reshape(2, -1)  # [2, h * w]
    limit = pos.new_tensor([height - 1, width - 1])[:, None]
    for _ in range(n_iters):
        low = pos.floor()
        frac = pos - low  # [2, h * w]
        y0, x0 = low.long()
        y1 = (y0 + 1).clamp(max=height - 1)
        x1 = (x0 + 1).clamp(max=width - 1)
        fy, fx = frac
        step = (
            flat[:, y0 * width + x0] * ((1 - fy) * (1 - fx))
            + flat[:, y0 * width + x1] * ((1 - fy) * fx)
            + flat[:, y1 * width + x0] * (fy * (1 - fx))
            + flat[:, y1 * width + x1] * (fy * fx)
        )  # [2, h * w]
        moved = torch.minimum(torch.clamp(pos + step, min=0), limit)
        if torch.equal(moved, pos):
            break
        pos = moved
    return pos.round().long().reshape(2, height, width)


def cluster_centroids(
    centroids: torch.Tensor | np.ndarray,
    displacement: torch.Tensor | np.ndarray,
    threshold: float = 2.5,
) -> torch.Tensor:
    """Group pixels whose displacement ends in the same centroid region.

    The centroid map is ``|D| < threshold``: the pixels the displacement
    hardly moves. Its 4-connected components are labelled 1, 2, ... (0 off the
    map), every pixel takes the label at its end point, and the labels in use
    are renumbered ``0 .. N - 1`` in increasing order. Pixels whose end point is
    off the centroid map therefore form one group of their own (id 0 when there
    are any), as IRN's reference does.

    Args:
        centroids (Tensor | np.ndarray): ``(2, h, w)`` integer end points from
            :func:`displacement_to_centroids`.
        displacement (Tensor | np.ndarray): The ``(2, h, w)`` field the end
            points come from.
        threshold (float): Displacement magnitude below which a pixel belongs
            to the centroid map, in map pixels. Default: 2.5.

    Returns:
        Tensor: ``(h, w)`` long instance ids ``0 .. N - 1``.
    """
    disp = _as_float_tensor(displacement, 'displacement')
    _check_displacement(disp)
    height, width = disp.shape[1:]
    ends = torch.as_tensor(centroids)
    if ends.shape != disp.shape or ends.is_floating_point():
        raise ValueError(
            f'centroids must be an integer (2, {height}, {width}) map like the '
            f'displacement, got {ends.dtype} of shape {tuple(ends.shape)}'
        )
    ends = ends.long().cpu().numpy()
    if ends.min() < 0 or ends[0].max() >= height or ends[1].max() >= width:
        raise ValueError('centroids must lie inside the map')
    weak = disp.norm(dim=0).cpu().numpy() < threshold
    regions, _ = ndimage.label(weak)  # 4-connectivity, 0 off the map
    landed = regions[ends[0], ends[1]]  # [h, w]
    _, ids = np.unique(landed, return_inverse=True)
    return torch.from_numpy(ids.reshape(height, width).astype(np.int64))


def _segments(mask: np.ndarray) -> list[np.ndarray]:
    """4-connected components of a boolean map, in label order."""
    labels, count = ndimage.label(mask)
    return [labels == i for i in range(1, count + 1)]


def instance_pseudo_labels(
    cams: torch.Tensor,
    keys: torch.Tensor | Sequence[int],
    boundary: torch.Tensor,
    displacement: torch.Tensor | np.ndarray,
    image_size: Sequence[int],
    radius: int = 5,
    beta: float = 10,
    steps: int = 256,
    bg_score: float = 0.25,
    min_fraction: float = 0.01,
    stride: int = 4,
    n_iters: int = 300,
    threshold: float = 2.5,
) -> list[dict]:
    """IRN instance pseudo labels of one image.

    With ``N`` groups from :func:`cluster_centroids`, channel ``k * N + n`` is
    class ``keys[k]``'s CAM inside group ``n`` (zero elsewhere). The channels
    are multiplied by ``1 - boundary``, propagated by :func:`random_walk` with
    the affinities of ``boundary``, upsampled by ``stride`` (bilinear, then
    cropped to ``image_size``) and divided by their global maximum; a constant
    ``bg_score`` channel is prepended and every pixel takes the argmax (ties go
    to background, then to the lower channel). Every 4-connected segment of a
    channel's pixels is one instance of class ``keys[k]`` with score = the
    channel's maximum on the segment; a segment with fewer than ``min_fraction
    * H * W`` pixels keeps score 0 (IRN keeps these fragments, ranked last;
    drop them with ``score > 0`` where training data is wanted).

    Args:
        cams (Tensor): ``(K, h, w)`` stride-``stride`` CAMs of the image's
            classes (as stored by the CAM stage).
        keys (Tensor | Sequence[int]): ``(K,)`` class index of each CAM (1..C).
        boundary (Tensor): ``(h, w)`` boundary probabilities in [0, 1].
        displacement (Tensor | np.ndarray): ``(2, h, w)`` displacement field
            ``(dy, dx)`` in map pixels.
        image_size (Sequence[int]): ``(H, W)`` of the image;
            ``stride * (h, w)`` must cover it.
        radius (int): Walk radius. Default: 5.
        beta (float): Power of the affinities. Default: 10.
        steps (int): Walk steps. Default: 256.
        bg_score (float): Background score after normalisation, >= 0.
            Default: 0.25.
        min_fraction (float): Segments smaller than this fraction of the image
            get score 0. Default: 0.01.
        stride (int): Upsampling factor from the map to the image. Default: 4.
        n_iters (int): Iterations of :func:`displacement_to_centroids`.
            Default: 300.
        threshold (float): Centroid-map threshold of
            :func:`cluster_centroids`. Default: 2.5.

    Returns:
        list[dict]: One dict per instance, in channel then segment order:
        ``mask`` (``(H, W)`` bool ndarray), ``label`` (int class index) and
        ``score`` (float in [0, 1]). Empty when ``K == 0`` or nothing beats the
        background.
    """
    if bg_score < 0:
        raise ValueError(f'bg_score must be >= 0, got {bg_score}')
    cams = _as_float_tensor(cams, 'cams')
    keys = torch.as_tensor(keys, dtype=torch.long).reshape(-1)
    if cams.dim() != 3 or cams.shape[0] != keys.numel():
        raise ValueError(
            f'cams must be (K, h, w) with one key per map, got shape '
            f'{tuple(cams.shape)} and {keys.numel()} keys'
        )
    height, width = cams.shape[1:]
    boundary = _as_float_tensor(boundary, 'boundary').to(cams)
    if boundary.shape != (height, width):
        raise ValueError(
            f'boundary must be ({height}, {width}) like the CAMs, got '
            f'{tuple(boundary.shape)}'
        )
    img_h, img_w = (int(v) for v in image_size)
    if stride * height < img_h or stride * width < img_w:
        raise ValueError(
            f'maps of {height}x{width} at stride {stride} do not cover an image '
            f'of {img_h}x{img_w}'
        )
    if cams.shape[0] == 0:
        return []
    groups = cluster_centroids(
        displacement_to_centroids(displacement, n_iters), displacement, threshold
    ).to(cams.device)
    n_groups = int(groups.max()) + 1
    one_hot = F.one_hot(groups, n_groups).permute(2, 0, 1).to(cams)  # [N, h, w]
    inst = (cams[:, None] * one_hot[None]).reshape(-1, height, width)  # [K*N, h, w]
    channel_keys = keys.repeat_interleave(n_groups)  # [K*N]
    # an all-zero channel stays zero through the walk and never beats bg_score
    keep = inst.flatten(1).amax(dim=1) > 0
    inst, channel_keys = inst[keep], channel_keys[keep]
    if inst.shape[0] == 0:
        return []
    affinity = boundary_to_affinity(boundary[None], radius)[0]
    walked = random_walk(inst * (1 - boundary), affinity, radius, beta, steps)
    up = F.interpolate(
        walked[None],
        size=(stride * height, stride * width),
        mode='bilinear',
        align_corners=False,
    )[0, :, :img_h, :img_w]  # [K*N, H, W]
    peak = up.max()
    if not peak > 0:
        return []
    up = up / peak
    scores = F.pad(up, (0, 0, 0, 0, 1, 0), value=bg_score)  # [1 + K*N, H, W]
    winner = scores.argmax(dim=0).cpu().numpy()
    up = up.cpu().numpy()
    min_area = min_fraction * img_h * img_w
    instances = []
    for c in np.unique(winner):
        if c == 0:
            continue
        for segment in _segments(winner == c):
            score = 0.0
            if segment.sum() >= min_area:
                score = float(up[c - 1][segment].max())
            instances.append(
                dict(mask=segment, label=int(channel_keys[c - 1]), score=score)
            )
    return instances
