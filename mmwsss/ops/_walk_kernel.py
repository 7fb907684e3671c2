"""Compiled CPU kernel of the stencil random walk (numba).

One walk step is ``2 * n_offsets + 1`` multiply-adds per pixel. As separate torch
ops (one per neighbour direction, ~17,700 ops for 256 steps at radius 5) a
VOC-size walk spends most of its time in op dispatch; this kernel runs the same
arithmetic in one compiled loop nest. Maps live in a flattened, zero-bordered
layout: with the border as wide as the radius, every neighbour direction is a
constant shift of the flat index, so each multiply-add streams over contiguous
memory and vectorises.
"""

from __future__ import annotations

import numpy as np

try:
    import numba
except ImportError:  # the torch stencil in random_walk.py is the fallback
    numba = None

_BLOCK = 1024  # pixels per work item: the running sums stay in L1


def _steps_kernel(src, dst, weights, shifts, margin, length, steps, floor):
    n_maps = src.shape[0]
    n_dirs = weights.shape[0]
    n_blocks = (length + _BLOCK - 1) // _BLOCK
    for _ in range(steps):
        # no product may fall below the smallest normal float (see random_walk)
        for m in range(n_maps):
            for i in range(margin, margin + length):
                if abs(src[m, i]) < floor:
                    src[m, i] = 0.0
        for job in numba.prange(n_maps * n_blocks):
            m = job // n_blocks
            start = (job % n_blocks) * _BLOCK
            size = min(length, start + _BLOCK) - start
            out = dst[m, margin + start : margin + start + size]
            w_self = weights[0, start : start + size]
            here = src[m, margin + start : margin + start + size]
            for i in range(size):
                out[i] = w_self[i] * here[i]
            for d in range(1, n_dirs):
                w_d = weights[d, start : start + size]
                first = margin + start + shifts[d]
                there = src[m, first : first + size]
                for i in range(size):
                    out[i] += w_d[i] * there[i]
        src, dst = dst, src
    return src


_compiled = None


def available() -> bool:
    """Whether the compiled kernel can run (numba is installed)."""
    return numba is not None


def run_steps(
    maps: np.ndarray,
    weights: np.ndarray,
    offsets: list[tuple[int, int]],
    pad: int,
    steps: int,
    floor: float,
    num_threads: int = 1,
) -> np.ndarray:
    """``steps`` walk steps of ``maps`` with stencil ``weights``.

    Args:
        maps (np.ndarray): ``(N, H, W)`` float maps (already scaled, see
            :func:`mmwsss.ops.random_walk`).
        weights (np.ndarray): ``(n_dirs, H, W)`` stencil weights, same dtype.
        offsets (list[tuple[int, int]]): Direction of each weight map, the first
            being ``(0, 0)``.
        pad (int): Largest ``|dy|`` / ``|dx|`` of the offsets.
        steps (int): Number of steps.
        floor (float): Values below this magnitude are set to 0 before a step.
        num_threads (int): Threads of the kernel. Default: 1.

    Returns:
        np.ndarray: ``(N, H, W)`` maps after the walk.
    """
    global _compiled
    if numba is None:
        raise RuntimeError('the compiled random walk needs numba (pip install numba)')
    if _compiled is None:
        _compiled = numba.njit(cache=True, fastmath=True, parallel=True)(_steps_kernel)
    n_maps, height, width = maps.shape
    padded_h, padded_w = height + 2 * pad, width + 2 * pad
    length = padded_h * padded_w
    margin = pad * padded_w + pad  # the largest flat shift
    flat_weights = np.zeros((len(offsets), padded_h, padded_w), dtype=maps.dtype)
    flat_weights[:, pad : pad + height, pad : pad + width] = weights
    flat_weights = flat_weights.reshape(len(offsets), length)
    src = np.zeros((n_maps, length + 2 * margin), dtype=maps.dtype)
    dst = np.zeros_like(src)
    interior = src[:, margin : margin + length].reshape(n_maps, padded_h, padded_w)
    interior[:, pad : pad + height, pad : pad + width] = maps
    shifts = np.array([dy * padded_w + dx for dy, dx in offsets], dtype=np.int64)
    previous = numba.get_num_threads()
    numba.set_num_threads(max(1, min(num_threads, numba.config.NUMBA_NUM_THREADS)))
    try:
        out = _compiled(
            src,
            dst,
            flat_weights,
            shifts,
            margin,
            length,
            steps,
            maps.dtype.type(floor),
        )
    finally:
        numba.set_num_threads(previous)
    out = out[:, margin : margin + length].reshape(n_maps, padded_h, padded_w)
    return np.ascontiguousarray(out[:, pad : pad + height, pad : pad + width])
