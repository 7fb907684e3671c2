"""Random walk benchmark: the sparse stencil walk vs the published dense one.

    python tools/benchmark_walk.py                       # all sizes, JSON to stdout
    python tools/benchmark_walk.py --one sparse 125 94   # one measurement
    python tools/benchmark_walk.py --one torch 80 80 --device cuda

The benchmark pipeline runs it as its ``WalkBenchmark`` stage.

The published IRN / PSA code builds the dense (HW x HW) transition matrix and
squares it 8 times; :func:`mmwsss.ops.random_walk` takes 256 stencil steps
instead, by its numba kernel on CPU (kind ``sparse``) or by its torch backend,
one sparse matrix product per step, the path it takes on a GPU (kind
``torch``, on the device asked for). All get the same inputs (a seeded
synthetic scene: objects of three classes, their blurred boundaries, CAMs that
spill over the objects) and the labels compared are IRN's: walk, divide by the
max, background 0.25, argmax.

Every measurement runs in a fresh subprocess, so its peak memory is its own:
the peak resident set size is reset (``/proc/self/clear_refs``) after the
inputs are built and read back after the walk (on a GPU: the peak of torch's
allocator instead, and the clock read after a synchronisation). The dense walk
runs with
``torch.set_flush_denormal(True)`` (GPUs flush denormals; without it the CPU
spends ~20x longer on them, see BENCHMARK.md of the design).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

from ..ops import boundary_to_affinity, dense_random_walk, random_walk
from ..utils.memory import peak_rss_mb, reset_peak_rss, rss_mb

RADIUS = 5
BETA = 10.0
LOGT = 8
BG_SCORE = 0.25


def make_inputs(height: int, width: int, seed: int = 0):
    """A seeded scene: ``(cams (3, H, W), boundary (H, W))`` float32 tensors."""
    gen = np.random.default_rng(seed)
    labels = np.zeros((height, width), dtype=np.int64)
    ys, xs = np.mgrid[:height, :width]
    for _ in range(6):
        cy, cx = gen.uniform(0, height), gen.uniform(0, width)
        ry = gen.uniform(0.08, 0.25) * height
        rx = gen.uniform(0.08, 0.25) * width
        inside = ((ys - cy) / ry) ** 2 + ((xs - cx) / rx) ** 2 < 1
        labels[inside] = gen.integers(1, 4)
    label_t = torch.from_numpy(labels)
    edge = torch.zeros(height, width)
    edge[1:] += (label_t[1:] != label_t[:-1]).float()
    edge[:, 1:] += (label_t[:, 1:] != label_t[:, :-1]).float()
    edge = F.avg_pool2d(edge[None, None].clamp(max=1), 3, 1, 1)[0, 0] * 2
    noise = torch.from_numpy(gen.uniform(0, 0.1, (height, width))).float()
    boundary = (edge + noise).clamp(0, 1)
    onehot = F.one_hot(label_t, 4).permute(2, 0, 1)[1:].float()
    kernel = max(3, (min(height, width) // 8) | 1)
    cams = F.avg_pool2d(onehot[None], kernel, 1, kernel // 2)[0]
    cams = cams / cams.amax(dim=(1, 2), keepdim=True).clamp(min=1e-5)
    return cams.float(), boundary.float()


def _labels(walked: torch.Tensor) -> torch.Tensor:
    scores = walked / walked.max().clamp(min=1e-5)
    bg = scores.new_full((1, *scores.shape[1:]), BG_SCORE)
    return torch.cat([bg, scores]).argmax(dim=0)


KINDS = ('sparse', 'torch', 'dense')


def _walk(kind: str, x: torch.Tensor, affinity: torch.Tensor) -> torch.Tensor:
    if kind == 'dense':
        return dense_random_walk(x, affinity, RADIUS, BETA, logt=LOGT)
    backend = 'torch' if kind == 'torch' else 'auto'
    return random_walk(x, affinity, RADIUS, BETA, steps=2**LOGT, backend=backend)


def measure_one(
    kind: str, height: int, width: int, seed: int = 0, device: str = 'cpu'
) -> dict:
    """Time one walk in this process; return time, extra peak memory, labels.

    ``device`` is used by kind ``torch`` only (the others run on CPU).
    """
    if kind not in KINDS:
        raise ValueError(f'kind must be one of {KINDS}, got {kind!r}')
    device = torch.device(device if kind == 'torch' else 'cpu')
    cams, boundary = make_inputs(height, width, seed)
    x = (cams * (1 - boundary)).to(device)
    affinity = boundary_to_affinity(boundary[None], RADIUS)[0].to(device)
    if kind == 'dense':
        torch.set_flush_denormal(True)
    else:
        # compile (or load from numba's cache) the kernel, or start the
        # device, outside the timing: a once-per-process cost, not the walk's
        # (the timed walk builds its own sparse pattern, as for a new map size)
        _walk(kind, x[:, :8, :8].contiguous(), affinity[:, :8, :8].contiguous())
    on_gpu = device.type == 'cuda'
    if on_gpu:
        torch.cuda.synchronize(device)
        base = torch.cuda.memory_allocated(device)
        torch.cuda.reset_peak_memory_stats(device)
    else:
        base = rss_mb()
        reset = reset_peak_rss()
    start = time.perf_counter()
    walked = _walk(kind, x, affinity)
    if on_gpu:
        torch.cuda.synchronize(device)
    seconds = time.perf_counter() - start
    if on_gpu:
        peak = (torch.cuda.max_memory_allocated(device) - base) / 2**20
    else:
        peak = peak_rss_mb() - base if reset else float('nan')
    return dict(
        kind=kind,
        device=str(device),
        size=[height, width],
        seconds=seconds,
        peak_mb=max(peak, 0.0),
        labels=_labels(walked.cpu()).reshape(-1).tolist(),
    )


def measure(
    kind: str, height: int, width: int, timeout: float = 3600, device: str = 'cpu'
) -> dict:
    """Run :func:`measure_one` in a fresh Python process."""
    proc = subprocess.run(
        [
            sys.executable,
            '-m',
            'mmwsss.pipeline.walk_benchmark',
            '--one',
            kind,
            str(height),
            str(width),
            '--device',
            device,
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)),
    )
    if proc.returncode != 0:
        raise RuntimeError(f'{kind} walk at {height}x{width} failed:\n{proc.stderr}')
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _agreement(a: dict, b: dict) -> float:
    return float(np.mean(np.array(a['labels']) == np.array(b['labels'])))


def compare(
    sizes=((64, 64), (125, 94)),
    sparse_only=((512, 512),),
    progress=True,
    torch_device: str | None = None,
) -> list[dict]:
    """Our walks and the dense one side by side; returns one row per size.

    Each row times the numba kernel (``sparse_*``) and the torch backend on
    ``torch_device`` (``torch_*``; default: ``cuda`` when available, else
    ``cpu``), with the share of equal labels of the two (``torch_agreement``);
    rows of ``sizes`` add the dense walk and its agreement with ours.
    """
    if torch_device is None:
        torch_device = 'cuda' if torch.cuda.is_available() else 'cpu'
    rows = []
    for (height, width), with_dense in [
        *((size, True) for size in sizes),
        *((size, False) for size in sparse_only),
    ]:
        sparse = measure('sparse', height, width)
        on_torch = measure('torch', height, width, device=torch_device)
        row = dict(
            size=[height, width],
            sparse_s=sparse['seconds'],
            sparse_peak_mb=sparse['peak_mb'],
            torch_device=on_torch['device'],
            torch_s=on_torch['seconds'],
            torch_peak_mb=on_torch['peak_mb'],
            torch_agreement=_agreement(on_torch, sparse),
        )
        if with_dense:
            dense = measure('dense', height, width)
            row.update(
                dense_s=dense['seconds'],
                dense_peak_mb=dense['peak_mb'],
                speedup=dense['seconds'] / sparse['seconds'],
                agreement=_agreement(sparse, dense),
            )
        rows.append(row)
        if progress:
            print(f'walk {height}x{width}: {row}', file=sys.stderr, flush=True)
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--one', nargs=3, metavar=('KIND', 'H', 'W'))
    parser.add_argument(
        '--device',
        default=None,
        help="device of the torch backend (default: 'cuda' when available, else "
        "'cpu'; the other kinds run on CPU)",
    )
    args = parser.parse_args(argv)
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    if args.one:
        kind, height, width = args.one[0], int(args.one[1]), int(args.one[2])
        print(json.dumps(measure_one(kind, height, width, device=device)))
    else:
        print(json.dumps(compare(torch_device=device), indent=1))


if __name__ == '__main__':
    main()
