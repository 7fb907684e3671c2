"""Compiled CPU kernel of the stencil random walk (numba).

One walk step is ``2 * n_offsets + 1`` multiply-adds per pixel. As separate torch
ops (one per neighbour direction, ~17,700 ops for 256 steps at radius 5) a
VOC-size walk spends most of its time in op dispatch; this kernel runs the same
arithmetic in one compiled loop nest. Maps live in a flattened, zero-bordered
layout: with the border as wide as the radius, every neighbour direction is a
constant shift of the flat index, so each multiply-add streams over contiguous
memory and vectorises.

The compiled kernel is cached on disk in a per-user folder, never next to this
module (an installed package may be read-only or shared by several users):
``NUMBA_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/mmwsss/numba`` (default
``~/.cache/mmwsss/numba``). If that folder cannot be written, the kernel is
compiled afresh in every process instead (a few seconds) and nothing is cached.
"""

from __future__ import annotations

import os
import os.path as osp
import tempfile

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


def cache_dir() -> str | None:
    """The folder the compiled kernel is cached in, or None if none is writable.

    ``NUMBA_CACHE_DIR`` (numba's own setting, read from the environment now or
    at numba's import) if set, else ``$XDG_CACHE_HOME/mmwsss/numba``, with
    ``XDG_CACHE_HOME`` defaulting to ``~/.cache``. The folder is created if
    missing.

    Returns:
        str | None: The folder, or None if it cannot be created or written
        (the kernel is then not cached).
    """
    path = os.environ.get('NUMBA_CACHE_DIR') or numba.config.CACHE_DIR
    if not path:
        base = os.environ.get('XDG_CACHE_HOME') or osp.join(
            osp.expanduser('~'), '.cache'
        )
        path = osp.join(base, 'mmwsss', 'numba')
    try:
        os.makedirs(path, exist_ok=True)
        tempfile.TemporaryFile(dir=path).close()
    except OSError:
        return None
    return osp.abspath(path)


def _compile():
    """Compile the kernel, its on-disk cache in :func:`cache_dir`.

    numba picks a function's cache folder when the dispatcher is made: the
    first of its cache locators that accepts the function wins, and the one for
    ``numba.config.CACHE_DIR`` (``NUMBA_CACHE_DIR``) comes before the one that
    writes ``__pycache__`` next to the source file. ``CACHE_DIR`` is therefore
    set only while this dispatcher is made, and restored afterwards, so that
    other numba functions of the process keep their own setting.
    """
    options = dict(fastmath=True, parallel=True)
    folder = cache_dir()
    if folder is None:
        return numba.njit(cache=False, **options)(_steps_kernel)
    previous = numba.config.CACHE_DIR
    numba.config.CACHE_DIR = folder
    try:
        return numba.njit(cache=True, **options)(_steps_kernel)
    finally:
        numba.config.CACHE_DIR = previous


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
        _compiled = _compile()
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
