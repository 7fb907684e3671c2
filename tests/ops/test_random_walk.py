import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from mmwsss.ops import _walk_kernel
from mmwsss.ops.affinity import boundary_to_affinity, neighbor_offsets
from mmwsss.ops.random_walk import (
    _sparse_steps,
    apply_transition,
    dense_random_walk,
    dense_transition,
    random_walk,
    stencil_offsets,
    transition_weights,
    transposed_transition,
)

ROOT = Path(__file__).resolve().parents[2]
CASES = [(6, 7, 3, 8.0), (9, 5, 5, 10.0), (3, 2, 5, 8.0)]


def _random_affinity(height, width, radius, seed=0, dtype=torch.float64):
    gen = torch.Generator().manual_seed(seed)
    shape = (len(neighbor_offsets(radius)), height, width)
    return torch.rand(shape, generator=gen, dtype=dtype)


def test_stencil_offsets_order():
    offsets = stencil_offsets(5)
    assert len(offsets) == 69  # self + 34 forward + 34 backward
    assert offsets[0] == (0, 0)
    assert offsets[1:35] == neighbor_offsets(5)
    assert offsets[35:] == [(-dy, -dx) for dy, dx in neighbor_offsets(5)]
    assert stencil_offsets(1) == [(0, 0)]


@pytest.mark.parametrize('height, width, radius, beta', CASES)
def test_dense_transition_structure(height, width, radius, beta):
    aff = _random_affinity(height, width, radius)
    trans = dense_transition(aff, radius, beta)
    n_pixels = height * width
    assert trans.shape == (n_pixels, n_pixels)
    colsum = trans.sum(dim=0)
    assert torch.allclose(colsum, torch.ones(n_pixels, dtype=torch.float64))
    # undo the column normalisation: A ** beta is symmetric with a diagonal of 1
    powered = trans * (1 / torch.diagonal(trans))[None, :]
    assert torch.allclose(powered, powered.T)
    assert torch.allclose(torch.diagonal(powered), torch.ones(n_pixels).double())
    # pixels at distance >= radius are not linked; pairs carry aff ** beta
    ys, xs = torch.meshgrid(torch.arange(height), torch.arange(width), indexing='ij')
    dist_sq = (ys.reshape(-1, 1) - ys.reshape(1, -1)) ** 2 + (
        xs.reshape(-1, 1) - xs.reshape(1, -1)
    ) ** 2
    assert (powered[dist_sq >= radius**2] == 0).all()
    dy, dx = neighbor_offsets(radius)[0]  # (0, 1)
    assert powered[0, dy * width + dx].item() == pytest.approx(aff[0, 0, 0] ** beta)


@pytest.mark.parametrize('height, width, radius, beta', CASES)
def test_stencil_transition_equals_dense(height, width, radius, beta):
    aff = _random_affinity(height, width, radius, seed=1)
    weights = transition_weights(aff, radius, beta)
    assert weights.shape == (2 * len(neighbor_offsets(radius)) + 1, height, width)
    assert torch.allclose(weights.sum(dim=0), torch.ones(height, width).double())
    # row i of T is the step applied to the one-hot row vector e_i
    n_pixels = height * width
    one_hot = torch.eye(n_pixels, dtype=torch.float64).reshape(-1, height, width)
    from_stencil = apply_transition(one_hot, weights, radius).reshape(n_pixels, -1)
    expected = dense_transition(aff, radius, beta)
    assert torch.allclose(from_stencil, expected, rtol=1e-12, atol=1e-15)


@pytest.fixture(params=['torch', 'numba'])
def backend(request):
    return request.param


@pytest.mark.parametrize('height, width, radius, beta', CASES)
def test_random_walk_equals_dense_reference(height, width, radius, beta, backend):
    aff = _random_affinity(height, width, radius, seed=2)
    x = torch.rand(2, 3, height, width, dtype=torch.float64)
    for logt in (0, 1, 3, 8):
        ours = random_walk(x, aff, radius, beta, steps=2**logt, backend=backend)
        dense = dense_random_walk(x, aff, radius, beta, logt=logt)
        assert ours.shape == x.shape and ours.dtype == x.dtype
        assert torch.allclose(ours, dense, rtol=1e-4, atol=1e-12), logt
    # one step is x @ T with x as row vectors over the pixels (not T @ x)
    trans = dense_transition(aff, radius, beta)
    one_step = random_walk(x[0], aff, radius, beta, steps=1, backend=backend)
    manual = (x[0].reshape(3, -1) @ trans).reshape(3, height, width)
    assert torch.allclose(one_step, manual)


def test_random_walk_keeps_constants_and_walls(backend):
    # column normalisation + x @ T averages: a constant map stays constant
    aff = _random_affinity(9, 8, 5, seed=3)
    const = torch.full((1, 9, 8), 0.3, dtype=torch.float64)
    walked = random_walk(const, aff, 5, 8.0, steps=50, backend=backend)
    assert torch.allclose(walked, const)
    # a boundary column of 1 isolates the two sides: nothing crosses it
    boundary = torch.zeros(1, 9, 8, dtype=torch.float64)
    boundary[0, :, 4] = 1.0
    wall = boundary_to_affinity(boundary, 5)[0]
    x = torch.zeros(1, 9, 8, dtype=torch.float64)
    x[0, :, :2] = 1.0
    out = random_walk(x, wall, 5, 10.0, steps=64, backend=backend)
    assert (out[0, :, 4:] == 0).all()
    assert torch.allclose(out[0, :, :4].sum(), torch.tensor(18.0).double())
    assert torch.allclose(out, dense_random_walk(x, wall, 5, 10.0, logt=6))


def test_random_walk_identity_cases_and_errors():
    x = torch.rand(2, 4, 5)
    assert torch.allclose(random_walk(x, torch.zeros(0, 4, 5), 1, 8.0), x)
    aff = _random_affinity(4, 5, 3, dtype=torch.float32)
    assert torch.allclose(random_walk(x, aff, 3, 8.0, steps=0), x)
    with pytest.raises(ValueError, match='n_offsets = 12'):
        random_walk(x, aff[:5], 3, 8.0)
    with pytest.raises(ValueError, match='>= 0'):
        random_walk(x, aff - 2, 3, 8.0)
    with pytest.raises(ValueError, match='share H and W'):
        random_walk(torch.rand(2, 4, 6), aff, 3, 8.0)
    with pytest.raises(ValueError, match='steps'):
        random_walk(x, aff, 3, 8.0, steps=-1)
    with pytest.raises(ValueError, match='logt'):
        dense_random_walk(x, aff, 3, 8.0, logt=1.5)


def test_random_walk_float32_strong_boundaries_and_threads(backend):
    # strong boundaries make aff ** beta and the walked values underflow
    # towards denormals; float32 must still match the float64 reference
    torch.manual_seed(4)
    boundary = torch.rand(1, 12, 11) * 0.2
    boundary[0, 6, :] = 0.9999
    boundary[0, :, 5] = 0.9999
    aff = boundary_to_affinity(boundary, 5)[0]
    x = torch.rand(3, 12, 11)
    x[:, :6] = 0
    threads = torch.get_num_threads()
    ours = random_walk(x, aff, 5, 10.0, steps=256, backend=backend)
    assert torch.get_num_threads() == threads  # the one-thread block is undone
    dense = dense_random_walk(x.double(), aff.double(), 5, 10.0, logt=8)
    assert ours.dtype == torch.float32
    assert torch.allclose(ours.double(), dense, rtol=1e-4, atol=1e-6)


def test_random_walk_moderate_size_matches_dense_labels(backend):
    torch.manual_seed(0)
    # 64 x 64, radius 5, 256 steps: runs in well under a second
    big = random_walk(
        torch.rand(3, 64, 64), torch.rand(34, 64, 64), 5, 10.0, backend=backend
    )
    assert big.shape == (3, 64, 64) and torch.isfinite(big).all()
    # 32 x 32: a closed box of boundary separates an inside seed from an outside
    boundary = torch.rand(1, 32, 32) * 0.3
    boundary[0, 8, 6:26] = boundary[0, 24, 6:26] = 0.95
    boundary[0, 8:25, 6] = boundary[0, 8:25, 25] = 0.95
    aff = boundary_to_affinity(boundary, 5)[0]
    cams = torch.rand(3, 32, 32) * 0.3
    cams[0, 10:20, 10:20] += 1.0
    cams[1, :4] += 1.0
    cams = cams * (1 - boundary)
    ours = random_walk(cams, aff, 5, 10.0, steps=256, backend=backend)
    dense = dense_random_walk(cams.double(), aff.double(), 5, 10.0, logt=8)
    labels = dense.argmax(dim=0)
    assert torch.equal(ours.argmax(dim=0), labels)
    assert labels[16, 16] == 0 and labels[0, 0] == 1 and labels[30, 30] == 1
    assert torch.allclose(ours.double(), dense, rtol=1e-4, atol=1e-5)


def test_random_walk_backends_agree_and_check_backend():
    aff = _random_affinity(10, 7, 5, seed=5, dtype=torch.float32)
    x = torch.rand(2, 10, 7)
    compiled = random_walk(x, aff, 5, 10.0, backend='numba')
    assert torch.allclose(compiled, random_walk(x, aff, 5, 10.0, backend='torch'))
    assert torch.equal(random_walk(x, aff, 5, 10.0), compiled)  # auto -> numba
    with pytest.raises(ValueError, match='backend'):
        random_walk(x, aff, 5, 10.0, backend='cuda')


@pytest.mark.slow
def test_random_walk_keeps_one_torch_thread_in_a_fresh_process():
    # the first numba kernel of a process starts numba's threading layer; its
    # OpenMP layer sets the OpenMP runtime it shares with torch to
    # NUMBA_NUM_THREADS threads, which the walk must undo (a process started
    # with OMP_NUM_THREADS=1 otherwise runs later convolutions on 2 threads)
    pytest.importorskip('numba')
    script = (
        'import torch; from mmwsss.ops.random_walk import random_walk; '
        'before = torch.get_num_threads(); '
        'random_walk(torch.rand(2, 9, 6), torch.rand(34, 9, 6), 5, 10.0, steps=4, '
        "backend='numba'); "
        'print(before, torch.get_num_threads())'
    )
    env = dict(os.environ, OMP_NUM_THREADS='1', NUMBA_NUM_THREADS='2')
    proc = subprocess.run(
        [sys.executable, '-c', script],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split()[-2:] == ['1', '1']


@pytest.mark.parametrize('height, width, radius', [(6, 7, 3), (9, 5, 5), (1, 4, 5)])
def test_transposed_transition_is_the_dense_transpose(height, width, radius):
    aff = _random_affinity(height, width, radius, seed=6)
    weights = transition_weights(aff, radius, 10.0)
    trans = transposed_transition(weights, radius)
    assert trans.layout == torch.sparse_csr
    expected = dense_transition(aff, radius, 10.0).T
    assert torch.allclose(trans.to_dense(), expected, rtol=1e-12, atol=1e-15)
    # a valid CSR matrix: sorted, unique columns in every row
    with torch.sparse.check_sparse_tensor_invariants():
        torch.sparse_csr_tensor(
            trans.crow_indices(), trans.col_indices(), trans.values(), trans.shape
        )
    cols = trans.col_indices()
    for start, stop in zip(trans.crow_indices()[:-1], trans.crow_indices()[1:]):
        row = cols[start:stop]
        assert (row[1:] > row[:-1]).all()
    with pytest.raises(ValueError, match='weights must be'):
        transposed_transition(weights[1:], radius)


@pytest.mark.parametrize('seed', range(4))
def test_torch_walk_gives_the_numba_labels(seed):
    # random boundary maps and CAMs at IRN's settings (radius 5, beta 10, 256
    # steps), float32 as in the label stages: same labels, close scores
    gen = torch.Generator().manual_seed(seed)
    height, width = 14 + seed, 17 - seed
    boundary = torch.rand(1, height, width, generator=gen) ** 3
    aff = boundary_to_affinity(boundary, 5)[0]
    cams = torch.rand(3, height, width, generator=gen) * (1 - boundary)
    compiled = random_walk(cams, aff, 5, 10.0, backend='numba')
    sparse = random_walk(cams, aff, 5, 10.0, backend='torch')
    assert torch.equal(sparse.argmax(dim=0), compiled.argmax(dim=0))
    # float32 sums in another order: each about 6e-5 from the float64 walk
    assert torch.allclose(sparse, compiled, rtol=0, atol=2e-4)
    cams, aff = cams.double(), aff.double()
    compiled = random_walk(cams, aff, 5, 10.0, backend='numba')
    sparse = random_walk(cams, aff, 5, 10.0, backend='torch')
    assert torch.allclose(sparse, compiled, rtol=1e-10, atol=1e-12)
    # random affinities (no boundary structure) and PSA's beta, batched maps
    aff = torch.rand(34, height, width, generator=gen)
    maps = torch.rand(2, 4, height, width, generator=gen)
    compiled = random_walk(maps, aff, 5, 8.0, steps=64, backend='numba')
    sparse = random_walk(maps, aff, 5, 8.0, steps=64, backend='torch')
    assert torch.allclose(sparse, compiled, rtol=0, atol=2e-4)


def test_torch_walk_keeps_two_regions_apart():
    # a vertical wall of boundary splits the map; class 0 seeds the left side,
    # class 1 the right: every pixel of a side ends with its side's class
    boundary = torch.zeros(1, 12, 16)
    boundary[0, :, 7:9] = 1.0
    aff = boundary_to_affinity(boundary, 5)[0]
    cams = torch.zeros(2, 12, 16)
    cams[0, 5, 1] = 1.0
    cams[1, 2:10, 12:15] = 0.5
    labels = {}
    for backend in ('numba', 'torch'):
        walked = random_walk(cams, aff, 5, 10.0, backend=backend)
        assert (walked[1, :, :7] == 0).all() and (walked[0, :, 9:] == 0).all()
        labels[backend] = walked.argmax(dim=0)
    assert torch.equal(labels['torch'], labels['numba'])
    assert (labels['torch'][:, :7] == 0).all() and (labels['torch'][:, 9:] == 1).all()
    # one seed pixel spreads over its whole side
    assert (walked[0, :, :7] > 0).all() and (walked[1, :, 9:] > 0).all()


def test_torch_walk_without_maps():
    aff = _random_affinity(5, 6, 3, dtype=torch.float32)
    out = random_walk(torch.zeros(0, 5, 6), aff, 3, 8.0, backend='torch')
    assert out.shape == (0, 5, 6)


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA device')
def test_random_walk_on_cuda_gives_the_numba_labels():
    gen = torch.Generator().manual_seed(7)
    boundary = torch.rand(1, 40, 40, generator=gen) ** 3
    aff = boundary_to_affinity(boundary, 5)[0]
    cams = torch.rand(3, 40, 40, generator=gen) * (1 - boundary)
    compiled = random_walk(cams, aff, 5, 10.0)
    on_gpu = random_walk(cams.cuda(), aff.cuda(), 5, 10.0)  # auto: torch
    assert on_gpu.device.type == 'cuda'
    assert torch.equal(on_gpu.argmax(dim=0).cpu(), compiled.argmax(dim=0))
    assert torch.allclose(on_gpu.cpu(), compiled, rtol=0, atol=2e-4)


@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
def test_sparse_steps_floor_as_the_numba_kernel(dtype):
    # values below the floor become 0 before a step, the floor itself stays
    # (identity transition: radius 1 has only the self direction)
    floor = 2 * torch.finfo(dtype).tiny ** 0.5
    at = torch.tensor(floor, dtype=dtype)
    below = torch.nextafter(at, torch.zeros_like(at))
    maps = torch.stack([at, below, -at, -below, at.new_tensor(1.0)]).reshape(1, 1, 5)
    weights = torch.ones(1, 1, 5, dtype=dtype)
    trans = transposed_transition(weights, 1)
    walked = _sparse_steps(maps, trans, 1, floor)
    compiled = _walk_kernel.run_steps(
        maps.numpy(), weights.numpy(), [(0, 0)], 0, 1, floor
    )
    assert walked.tolist() == [[[at.item(), 0.0, -at.item(), 0.0, 1.0]]]
    assert walked.tolist() == compiled.tolist()
