"""Random walk of AffinityNet (PSA) and IRN, without the dense HW x HW matrix.

The published transition (PSA and IRN alike) is built over the ``N = H * W``
pixels of a map from the forward-offset affinities ``a_k`` (see
:mod:`mmwsss.ops.affinity`):

* ``A[i, j] = A[j, i] = a_k(i)`` for every in-image pair ``j = i + offset_k``
  (symmetric), ``A[i, i] = 1`` (every pixel has self-affinity 1, which stays 1
  after the power), and 0 for pixels at distance >= radius;
* ``T = A ** beta / colsum(A ** beta)``: the elementwise power, then each
  *column* divided by its sum, so every column of ``T`` sums to 1;
* the CAM channels are row vectors ``x`` of length ``N`` and the walk returns
  ``x @ T ** t`` (PSA and IRN compute ``T ** (2 ** logt)`` by squaring the dense
  matrix ``logt`` times; ``t = 256``).

One step ``y = x @ T`` is ``y_j = sum_i x_i A[i, j] ** beta / colsum_j``: a
weighted average of ``x`` over ``j`` and its neighbours within the radius, one
weight map per neighbour direction (self, the forward offsets, then the backward
offsets: :func:`transition_weights`). :func:`random_walk` repeats ``t`` such
steps, in O(HW * offsets) memory and time per step, by one of two backends:

* ``numba`` (CPU): a compiled stencil loop over the weight maps
  (:mod:`mmwsss.ops._walk_kernel`);
* ``torch`` (any device, the default off the CPU): ``T`` transposed as one
  sparse CSR matrix, built once per walk (its sparsity pattern once per map
  size); a step is one sparse-dense matrix product (cuSPARSE on a GPU) and one
  elementwise op, where one multiply-add per direction (69 at radius 5) would
  launch about 18,000 GPU kernels per 256-step walk.
"""

from __future__ import annotations

import contextlib
import functools
import warnings
from collections.abc import Iterator

import torch

from . import _walk_kernel
from .affinity import (
    _check_radius,
    _forward_offsets,
    _valid_range,
    neighbor_offsets,
    pair_indices,
    valid_pair_mask,
)


def stencil_offsets(radius: int) -> list[tuple[int, int]]:
    """Neighbour directions of one walk step, in the order of the weight maps.

    Args:
        radius (int): Pair radius (see :func:`neighbor_offsets`).

    Returns:
        list[tuple[int, int]]: ``(0, 0)``, then the forward offsets, then their
        negations: ``2 * n_offsets + 1`` directions (69 for radius 5).
    """
    forward = neighbor_offsets(radius)
    return [(0, 0), *forward, *((-dy, -dx) for dy, dx in forward)]


def _check_affinity(affinity: torch.Tensor, radius: int) -> None:
    _check_radius(radius)
    n_offsets = len(_forward_offsets(radius))
    if affinity.dim() != 3 or affinity.shape[0] != n_offsets:
        raise ValueError(
            f'affinity must be (n_offsets, H, W) with n_offsets = {n_offsets} for '
            f'radius {radius}, got shape {tuple(affinity.shape)}'
        )
    if not affinity.is_floating_point():
        raise TypeError(f'affinity must be floating point, got {affinity.dtype}')
    if not (torch.isfinite(affinity).all() and (affinity >= 0).all()):
        raise ValueError(
            'affinity must be finite and >= 0 (a negative value raised to beta '
            f'is undefined); its minimum is {affinity.min().item()}'
        )


def _shift(x: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """``out[..., y, x] = x[..., y + dy, x + dx]``, 0 outside the map."""
    height, width = x.shape[-2:]
    out = torch.zeros_like(x)
    (y0, y1), (x0, x1) = _valid_range(height, dy), _valid_range(width, dx)
    if y0 < y1 and x0 < x1:
        out[..., y0:y1, x0:x1] = x[..., y0 + dy : y1 + dy, x0 + dx : x1 + dx]
    return out


def transition_weights(
    affinity: torch.Tensor, radius: int, beta: float
) -> torch.Tensor:
    """Stencil weights of the column-normalised transition ``T``.

    Args:
        affinity (Tensor): ``(n_offsets, H, W)`` forward-offset affinities in
            [0, 1] (entries of out-of-image neighbours are ignored).
        radius (int): Pair radius the affinities were computed with.
        beta (float): Power applied to the affinities.

    Returns:
        Tensor: ``(2 * n_offsets + 1, H, W)`` weights ``w`` in the order of
        :func:`stencil_offsets`: ``w[k, y, x] = T[(y, x) + d_k, (y, x)]``, the
        weight of the neighbour at direction ``d_k`` in the new value of
        ``(y, x)`` (0 where that neighbour is outside the map). The weights of
        every pixel sum to 1.
    """
    _check_affinity(affinity, radius)
    height, width = affinity.shape[1:]
    valid = valid_pair_mask(height, width, radius, device=affinity.device)
    forward = affinity.pow(beta) * valid  # A[p, p + o] ** beta stored at p
    # A[p - o, p] ** beta is the forward value stored at p - o
    backward = [
        _shift(forward[k], -dy, -dx)
        for k, (dy, dx) in enumerate(_forward_offsets(radius))
    ]
    self_weight = affinity.new_ones((1, height, width))  # A[p, p] = 1
    weights = torch.cat([self_weight, forward, *(b[None] for b in backward)])
    return weights / weights.sum(dim=0, keepdim=True)


def _check_walk_input(x: torch.Tensor, affinity: torch.Tensor) -> None:
    if x.dim() not in (3, 4):
        raise ValueError(f'x must be (K, H, W) or (B, K, H, W), got {tuple(x.shape)}')
    if not x.is_floating_point():
        raise TypeError(f'x must be floating point, got {x.dtype}')
    if x.shape[-2:] != affinity.shape[-2:]:
        raise ValueError(
            f'x is {tuple(x.shape[-2:])} but the affinity is '
            f'{tuple(affinity.shape[-2:])}: they must share H and W'
        )


@functools.lru_cache(maxsize=4)
def _csr_pattern(
    height: int, width: int, radius: int, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Sparsity pattern of ``T.T`` for one map size: built once per shape.

    Returns:
        tuple[Tensor, Tensor, Tensor]: CSR ``crow`` and ``col`` indices, and
        for each entry its flat index into the ``(2 * n_offsets + 1, H, W)``
        weights; int32 while they fit (half the memory, faster products).
    """
    offsets = stencil_offsets(radius)
    n_pixels = height * width
    index = torch.int32 if n_pixels * len(offsets) < 2**31 else torch.long
    # directions in row-major order of the neighbour: each row's columns sorted
    order = sorted(range(len(offsets)), key=offsets.__getitem__)
    dirs = torch.tensor([offsets[k] for k in order], dtype=index, device=device)
    pixels = torch.arange(n_pixels, dtype=index, device=device)  # [N]
    ny = (pixels // width)[:, None] + dirs[:, 0]  # [N, D]
    nx = (pixels % width)[:, None] + dirs[:, 1]  # [N, D]
    inside = (ny >= 0) & (ny < height) & (nx >= 0) & (nx < width)  # [N, D]
    # masked_select: boolean indexing would list the (row, column) of every
    # entry as int64 first, 4x the memory of the result
    col = torch.masked_select(ny * width + nx, inside)
    del ny, nx
    crow = torch.zeros(n_pixels + 1, dtype=index, device=device)
    crow[1:] = inside.sum(dim=1).cumsum(dim=0)
    ids = torch.tensor(order, dtype=index, device=device)  # [D]
    source = torch.masked_select(ids * n_pixels + pixels[:, None], inside)
    return crow, col, source  # source: weights[d, p] of each entry


def transposed_transition(weights: torch.Tensor, radius: int) -> torch.Tensor:
    """``T`` transposed, as a sparse CSR matrix, from its stencil weights.

    Row ``p`` holds the weights of ``p``'s neighbours within the radius (the
    pixel itself included) in its new value, so one walk step of maps stored as
    the columns of ``x`` (``(H * W, M)``) is ``transposed_transition(...) @ x``.
    The entries of neighbours outside the map are left out; the sparsity
    pattern depends only on the map size and radius and is cached for the last
    4 (size, radius, device).

    Args:
        weights (Tensor): ``(2 * n_offsets + 1, H, W)`` from
            :func:`transition_weights`.
        radius (int): Pair radius of ``weights``.

    Returns:
        Tensor: ``(H * W, H * W)`` sparse CSR matrix ``T.T`` on the device and
        with the dtype of ``weights``; its column indices are sorted within
        each row.
    """
    n_dirs = len(stencil_offsets(radius))
    if weights.dim() != 3 or weights.shape[0] != n_dirs:
        raise ValueError(
            f'weights must be ({n_dirs}, H, W) for radius {radius}, got '
            f'shape {tuple(weights.shape)}'
        )
    height, width = weights.shape[1:]
    crow, col, source = _csr_pattern(height, width, radius, weights.device)
    with warnings.catch_warnings():
        # torch warns (once) that its CSR support is in beta; products are all
        # the walk uses, and the tests check them against the dense matrix
        warnings.filterwarnings('ignore', 'Sparse CSR tensor support is in beta')
        return torch.sparse_csr_tensor(
            crow,
            col,
            weights.reshape(-1)[source],
            size=(height * width, height * width),
            check_invariants=False,
        )


def _sparse_steps(maps: torch.Tensor, trans: torch.Tensor, steps: int, floor: float):
    """``steps`` walk steps of ``(M, H, W)`` maps with ``T.T`` as sparse CSR.

    Before every step values below ``floor`` in magnitude are set to 0, as in
    the numba kernel. ``hardshrink(x, lambd)`` zeroes ``|x| <= lambd`` in one
    elementwise op; with ``lambd`` the largest float of the maps' dtype below
    ``floor`` that is exactly ``|x| < floor``.
    """
    if maps.shape[0] == 0:
        return maps
    floor_t = torch.tensor(floor, dtype=maps.dtype)
    lambd = torch.nextafter(floor_t, torch.zeros_like(floor_t)).item()
    cols = maps.reshape(maps.shape[0], -1).t().contiguous()  # [N, M]
    for _ in range(steps):
        cols = trans @ torch.nn.functional.hardshrink(cols, lambd)
    return cols.t().reshape(maps.shape)


def apply_transition(
    x: torch.Tensor, weights: torch.Tensor, radius: int
) -> torch.Tensor:
    """One walk step ``x @ T`` with the stencil weights of ``T``.

    Args:
        x (Tensor): ``(..., H, W)`` maps, each a row vector over the pixels.
        weights (Tensor): ``(2 * n_offsets + 1, H, W)`` from
            :func:`transition_weights`.
        radius (int): Pair radius of ``weights``.

    Returns:
        Tensor: ``(..., H, W)`` maps ``x @ T``.
    """
    n_weights = len(stencil_offsets(radius))
    if weights.dim() != 3 or weights.shape != (n_weights, *x.shape[-2:]):
        raise ValueError(
            f'weights must be ({n_weights}, H, W) for radius {radius} and maps of '
            f'size {tuple(x.shape[-2:])}, got shape {tuple(weights.shape)}'
        )
    cols = x.reshape(-1, weights[0].numel()).t()  # [N, M]
    return (transposed_transition(weights, radius) @ cols).t().reshape(x.shape)


@contextlib.contextmanager
def _one_cpu_thread(device: torch.device) -> Iterator[None]:
    """Run torch's CPU ops on one thread inside the block (restored after).

    A walk is hundreds of short ops (a sparse product of a few maps takes about
    0.1-1 ms). Splitting them over threads gains little, and when the cores are
    shared with another busy process every op waits for a descheduled worker:
    on 2 shared cores a 125 x 94 walk of one op per stencil direction took
    70-150 s with 2 threads against 0.3 s with one.

    The count is put back even when it was 1 already: the first numba kernel
    of a process starts numba's threading layer, and its OpenMP layer sets the
    thread count of the OpenMP runtime it shares with torch to
    ``NUMBA_NUM_THREADS`` (default: the number of cores). That would leave
    torch on that many threads (e.g. 2 instead of ``OMP_NUM_THREADS=1``) for
    the rest of the process, its later convolutions rounding differently from
    those before the first walk.
    """
    if device.type != 'cpu':
        yield
        return
    previous = torch.get_num_threads()
    if previous != 1:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def random_walk(
    x: torch.Tensor,
    affinity: torch.Tensor,
    radius: int,
    beta: float,
    steps: int = 256,
    backend: str = 'auto',
) -> torch.Tensor:
    """Propagate ``x`` by ``steps`` steps of the walk: ``x @ T ** steps``.

    Equal to :func:`dense_random_walk` with ``steps = 2 ** logt`` (up to
    rounding), without forming the HW x HW matrix. Callers apply their method's
    pre-processing themselves (IRN multiplies the CAMs by ``1 - boundary``).

    High powers of small affinities produce denormal floats (below
    ``finfo.tiny``), which many CPUs process far more slowly. Without touching the
    global ``torch.set_flush_denormal`` state, each map is scaled to a maximum
    magnitude of 1 (and scaled back at the end), and the weights (once) and the
    map values (before every step) below ``2 * sqrt(finfo.tiny)`` (about 2e-19
    in float32, 3e-154 in float64) are set to 0, so no product falls below
    ``finfo.tiny``. This moves each output by at most about ``steps * 2e-19``
    times its map's maximum magnitude in float32.

    The walk is not differentiable (it runs under ``no_grad``). On CPU the steps
    run in a compiled kernel (numba, :mod:`mmwsss.ops._walk_kernel`) on
    ``torch.get_num_threads()`` threads; elsewhere (a GPU), or without numba,
    as one sparse-dense matrix product per step with the transposed transition
    (:func:`transposed_transition`), on one thread on CPU.

    Args:
        x (Tensor): ``(K, H, W)`` or ``(B, K, H, W)`` maps (e.g. CAMs).
        affinity (Tensor): ``(n_offsets, H, W)`` forward-offset affinities shared
            by all maps of ``x`` (see :mod:`mmwsss.ops.affinity`).
        radius (int): Pair radius of ``affinity``.
        beta (float): Power applied to the affinities (PSA 8, IRN 10).
        steps (int): Number of steps. Default: 256.
        backend (str): 'numba' (compiled CPU kernel), 'torch' (sparse matrix
            products, any device) or 'auto' (numba for CPU tensors when it is
            installed, else torch). Default: 'auto'.

    Returns:
        Tensor: Same shape and dtype as ``x``.
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ValueError(f'steps must be an int >= 0, got {steps!r}')
    if backend not in ('auto', 'numba', 'torch'):
        raise ValueError(f"backend must be 'auto', 'numba' or 'torch', got {backend!r}")
    on_cpu = x.device.type == 'cpu'
    if backend == 'numba' and not (on_cpu and _walk_kernel.available()):
        raise RuntimeError(
            'the numba backend needs numba installed and CPU tensors '
            f'(x is on {x.device})'
        )
    use_numba = backend == 'numba' or (
        backend == 'auto' and on_cpu and _walk_kernel.available()
    )
    threads = torch.get_num_threads()
    with torch.no_grad(), _one_cpu_thread(x.device):
        _check_affinity(affinity, radius)
        _check_walk_input(x, affinity)
        floor = 2 * torch.finfo(x.dtype).tiny ** 0.5
        weights = transition_weights(affinity.to(x.dtype), radius, beta)
        weights = weights.masked_fill(weights < floor, 0)
        maps = x.reshape(-1, *x.shape[-2:])
        scale = maps.abs().amax(dim=(1, 2), keepdim=True)  # [N, 1, 1]
        scale = torch.where(scale > 0, scale, torch.ones_like(scale))
        out = maps / scale
        if use_numba and steps > 0:
            walked = _walk_kernel.run_steps(
                out.contiguous().numpy(),
                weights.contiguous().numpy(),
                stencil_offsets(radius),
                radius - 1,
                steps,
                floor,
                num_threads=threads,
            )
            out = torch.from_numpy(walked)
        elif steps > 0:
            out = _sparse_steps(
                out, transposed_transition(weights, radius), steps, floor
            )
        return (out * scale).reshape(x.shape)


def dense_transition(affinity: torch.Tensor, radius: int, beta: float) -> torch.Tensor:
    """The published dense transition matrix (reference implementation).

    Args:
        affinity (Tensor): ``(n_offsets, H, W)`` forward-offset affinities.
        radius (int): Pair radius of ``affinity``.
        beta (float): Power applied to the affinities.

    Returns:
        Tensor: ``(H * W, H * W)`` matrix ``T = A ** beta / colsum`` with
        ``A`` symmetric, ``A[i, i] = 1``; every column sums to 1.
    """
    _check_affinity(affinity, radius)
    height, width = affinity.shape[1:]
    n_pixels = height * width
    src, dst, ids = pair_indices(height, width, radius, device=affinity.device)
    values = affinity.reshape(-1)[ids * n_pixels + src]
    dense = affinity.new_zeros((n_pixels, n_pixels))
    dense[src, dst] = values
    dense[dst, src] = values
    dense.fill_diagonal_(1.0)
    dense = dense.pow(beta)
    return dense / dense.sum(dim=0, keepdim=True)


def dense_random_walk(
    x: torch.Tensor,
    affinity: torch.Tensor,
    radius: int,
    beta: float,
    logt: int = 8,
) -> torch.Tensor:
    """The published walk: ``x @ T ** (2 ** logt)`` by repeated squaring.

    O((HW) ** 2) memory and O((HW) ** 3) time; the reference for
    :func:`random_walk`. On CPU, call ``torch.set_flush_denormal(True)`` first
    or the squarings run on slow denormal floats.

    Args:
        x (Tensor): ``(K, H, W)`` or ``(B, K, H, W)`` maps.
        affinity (Tensor): ``(n_offsets, H, W)`` forward-offset affinities.
        radius (int): Pair radius of ``affinity``.
        beta (float): Power applied to the affinities.
        logt (int): Number of squarings. Default: 8 (256 steps).

    Returns:
        Tensor: Same shape as ``x``.
    """
    _check_affinity(affinity, radius)
    _check_walk_input(x, affinity)
    if isinstance(logt, bool) or not isinstance(logt, int) or logt < 0:
        raise ValueError(f'logt must be an int >= 0, got {logt!r}')
    trans = dense_transition(affinity.to(x.dtype), radius, beta)
    for _ in range(logt):
        trans = trans @ trans
    height, width = x.shape[-2:]
    return (x.reshape(-1, height * width) @ trans).reshape(x.shape)
