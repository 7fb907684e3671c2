"""Class peak responses (PRM, Zhou et al., CVPR 2018).

PRM's three pieces, as the paper and its code define them:

- **Peaks** (:func:`peak_mask`): local maxima of a class response map on the
  map's own grid, in a ``window x window`` neighbourhood (3 in PRM), kept where
  the response is at least the map's median (PRM's peak filter in training).
  A plateau of equal maxima is one peak, its first pixel in raster order
  (PRM finds peaks as the pixels that are their own window's first maximum,
  which gives the same pixel on a convex plateau).
- **Peak stimulation** (:func:`peak_stimulation`): the image score of a class
  is the mean response at its peaks; its backward gives *every* peak the full
  gradient of the score (PRM's published implementation passes the score's
  gradient to each peak without dividing it by the number of peaks).
- **Peak backpropagation** (:func:`peak_response_maps`): one peak response map
  per peak, the gradient of the peak's response with respect to the input
  image, summed over channels, clipped at 0 and normalised to sum 1, where the
  backward of every convolution is the paper's probabilistic top-down rule
  (as excitation backprop, Zhang et al., ECCV 2016): a unit passes
  its share on to the inputs in proportion to their positive contributions,
  ``P(u_i) = sum_j (u_i - min u) * w_ij^+ / Z_j * P(v_j)`` with
  ``Z_j = sum_i (u_i - min u) * w_ij^+`` (:func:`excitation_backprop`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call


def _check_window(window: int) -> None:
    if window < 1 or window % 2 == 0:
        raise ValueError(f'window must be a positive odd number, got {window}')


def local_maxima(maps: torch.Tensor, window: int = 3) -> torch.Tensor:
    """Local maxima of ``maps`` ``(..., H, W)``, one per plateau.

    A pixel is a local maximum where no pixel of its ``window`` x ``window``
    neighbourhood is larger. Local maxima closer than ``window // 2`` pixels to
    each other (necessarily equal) form one plateau, which keeps its first
    pixel in raster order only: labels spread by windowed minima over the
    plateau until they settle (a few steps: plateaus of real-valued maps are
    small).

    Returns:
        Tensor: Bool, the shape of ``maps``.
    """
    _check_window(window)
    shape = maps.shape
    if maps.dim() < 2:
        raise ValueError(f'maps must be (..., H, W), got shape {tuple(shape)}')
    flat = maps.detach().reshape(-1, 1, *shape[-2:]).float()
    pad = window // 2
    local = flat >= F.max_pool2d(flat, window, stride=1, padding=pad)
    height, width = shape[-2:]
    # raster index of each pixel (exact in float32 below 2**24 pixels)
    index = torch.arange(height * width, device=flat.device, dtype=torch.float32)
    index = index.view(1, 1, height, width).expand_as(flat)
    big = float(height * width)
    label = torch.where(local, index, torch.full_like(flat, big))
    while True:
        spread = -F.max_pool2d(-label, window, stride=1, padding=pad)
        spread = torch.where(local, torch.minimum(label, spread), label)
        if torch.equal(spread, label):
            break
        label = spread
    return (local & (label == index)).reshape(shape)


def peak_mask(maps: torch.Tensor, window: int = 3) -> torch.Tensor:
    """PRM's peaks of ``maps`` ``(..., H, W)``: :func:`local_maxima` (one per
    plateau) whose response is at least the map's median.

    Args:
        maps (Tensor): ``(..., H, W)`` response maps (one map per leading index).
        window (int): Odd neighbourhood size. Default: 3 (PRM's).

    Returns:
        Tensor: Bool, the shape of ``maps``. Every map has at least one peak
        (its maximum); a constant map has one, at its first pixel.
    """
    peaks = local_maxima(maps, window)
    flat = maps.detach().reshape(-1, maps.shape[-2] * maps.shape[-1]).float()
    median = flat.median(dim=1).values.view(-1, 1)
    above = (flat >= median).reshape(maps.shape)
    return peaks & above


def peak_stimulation(maps: torch.Tensor, window: int = 3) -> torch.Tensor:
    """Image scores ``(N, C)`` of class response maps ``(N, C, H, W)``: the
    mean response at each map's peaks (:func:`peak_mask`).

    The backward is PRM's: every peak pixel receives the full gradient of its
    class score (not the mean's 1 / number of peaks), so each peak is
    stimulated as strongly however many peaks the map has; no other pixel
    receives any.
    """
    if maps.dim() != 4:
        raise ValueError(f'maps must be (N, C, H, W), got shape {tuple(maps.shape)}')
    mask = peak_mask(maps, window).to(maps.dtype)
    total = (maps * mask).sum(dim=(2, 3))  # [N, C], gradient 1 at each peak
    mean = total / mask.sum(dim=(2, 3))  # every map has a peak
    # forward value: the mean; gradient: the sum's
    return total + (mean - total).detach()


def find_peaks(
    maps: torch.Tensor, keys: torch.Tensor, window: int = 3, min_score: float = 0.0
) -> list[tuple[int, int, int, float]]:
    """The peaks of an image's class maps, strongest first.

    Args:
        maps (Tensor): ``(K, H, W)`` maps of the image's classes.
        keys (Tensor): ``(K,)`` their class indices.
        window (int): Neighbourhood size. Default: 3.
        min_score (float): Keep peaks whose value exceeds it (e.g. on
            max-normalised CAMs, a fraction of the class's maximum).
            Default: 0.0.

    Returns:
        list: ``(class, y, x, score)`` per peak, by descending score.
    """
    if maps.dim() != 3 or len(keys) != len(maps):
        raise ValueError(
            f'maps (K, H, W) {tuple(maps.shape)} and keys (K,) {tuple(keys.shape)} '
            'must match'
        )
    peaks = peak_mask(maps, window) & (maps > min_score)
    found = []
    for k, y, x in torch.nonzero(peaks).tolist():
        found.append((int(keys[k]), y, x, float(maps[k, y, x])))
    return sorted(found, key=lambda p: -p[3])


class _InputShare(torch.autograd.Function):
    """Identity forward; backward multiplies the gradient by ``input -
    offset``, the non-negative activations."""

    @staticmethod
    def forward(ctx, inputs, offset):
        ctx.save_for_backward(inputs, offset)
        return inputs.clone()

    @staticmethod
    def backward(ctx, grad):
        inputs, offset = ctx.saved_tensors
        return (inputs - offset) * grad, None


class _ShareOfZ(torch.autograd.Function):
    """Forward: the convolution's true output; backward: the gradient divided
    by ``Z``, the output of the positive weights on the shifted input, into
    ``Z`` (0 where ``Z`` vanishes)."""

    @staticmethod
    def forward(ctx, output, z):
        ctx.save_for_backward(z)
        return output.clone()

    @staticmethod
    def backward(ctx, grad):
        (z,) = ctx.saved_tensors
        eps = 1e-10
        share = grad / (z.abs() + eps)
        return None, torch.where(z < eps, torch.zeros_like(share), share)


class _ExcitationHook:
    """Forward hook of a convolution: same output, excitation backward."""

    def __init__(self) -> None:
        self.busy = False

    def __call__(self, module: nn.Conv2d, args: tuple, output: torch.Tensor):
        if self.busy or not torch.is_grad_enabled():
            return None
        inputs = args[0]
        offset = inputs.detach().min()
        shifted = _InputShare.apply(inputs, offset) - offset
        params = {'weight': module.weight.detach().clamp(min=0)}
        if module.bias is not None:
            params['bias'] = torch.zeros_like(module.bias)
        self.busy = True  # the call below runs this hook again
        try:
            # the module's own forward (its padding too) with w+ and no bias
            z = functional_call(module, params, (shifted,))
        finally:
            self.busy = False
        return _ShareOfZ.apply(output.detach(), z)


@contextlib.contextmanager
def excitation_backprop(model: nn.Module) -> Iterator[nn.Module]:
    """Within the context, every ``nn.Conv2d`` of ``model`` (subclasses with
    their own padding too) computes its usual output but backpropagates by
    PRM's top-down rule (see the module doc): the gradient ``g`` arriving at
    an output becomes ``(u - min u) * conv_transpose(g / Z, w+)`` at the
    input. Other layers (ReLU, batch norm, pooling, upsampling, additions)
    keep their own backward, as in PRM. Weights receive no gradient through
    the convolutions."""
    hooks = [
        m.register_forward_hook(_ExcitationHook())
        for m in model.modules()
        if isinstance(m, nn.Conv2d)
    ]
    try:
        yield model
    finally:
        for hook in hooks:
            hook.remove()


def peak_response_maps(
    model: nn.Module,
    response: Callable[[torch.Tensor], torch.Tensor],
    inputs: torch.Tensor,
    peaks: Sequence[tuple[int, int, int]],
) -> tuple[torch.Tensor, torch.Tensor]:
    """PRM's peak backpropagation: one peak response map per peak.

    Args:
        model (nn.Module): The network whose convolutions ``response`` runs
            (see :func:`excitation_backprop`).
        response (Callable): ``inputs -> (1, C, h, w)`` class response maps.
        inputs (Tensor): ``(1, 3, H, W)`` image.
        peaks (Sequence[tuple]): ``(channel, y, x)`` on the response grid.

    Returns:
        tuple: the response maps ``(1, C, h, w)`` (detached) and the peak
        response maps ``(P, H, W)``: for each peak, the input gradient of its
        response summed over channels, clipped at 0 and divided by its sum
        (all zero where nothing is positive).
    """
    if inputs.dim() != 4 or inputs.shape[0] != 1:
        raise ValueError(f'inputs must be (1, 3, H, W), got {tuple(inputs.shape)}')
    with torch.enable_grad(), excitation_backprop(model):
        image = inputs.detach().clone().requires_grad_(True)
        maps = response(image)
        prms = []
        for i, (c, y, x) in enumerate(peaks):
            (grad,) = torch.autograd.grad(
                maps[0, c, y, x], image, retain_graph=i + 1 < len(peaks)
            )
            prm = grad[0].sum(0).clamp(min=0)
            total = prm.sum()
            prms.append(prm / total if total > 0 else prm)
    height, width = inputs.shape[-2:]
    if not prms:
        return maps.detach(), inputs.new_zeros((0, height, width))
    return maps.detach(), torch.stack(prms)
