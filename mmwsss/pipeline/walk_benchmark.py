"""Random walk benchmark: the sparse stencil walk vs the published dense one.

    python tools/benchmark_walk.py                       # all sizes, JSON to stdout
    python tools/benchmark_walk.py --one sparse 125 94   # one measurement

The benchmark pipeline runs it as its ``WalkBenchmark`` stage.

The published IRN / PSA code builds the dense (HW x HW) transition matrix and
squares it 8 times; :func:`mmwsss.ops.random_walk` takes 256 stencil steps
instead. Both get the same inputs (a seeded synthetic scene: objects of three
classes, their blurred boundaries, CAMs that spill over the objects) and the
labels compared are IRN's: walk, divide by the max, background 0.25, argmax.

Every measurement runs in a fresh subprocess, so its peak memory is its own:
the peak resident set size is reset (``/proc/self/clear_refs``) after the
inputs are built and read back after the walk. The dense walk runs with
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


def measure_one(kind: str, height: int, width: int, seed: int = 0) -> dict:
    """Time one walk in this process; return time, extra peak memory, labels."""
    cams, boundary = make_inputs(height, width, seed)
    x = cams * (1 - boundary)
    affinity = boundary_to_affinity(boundary[None], RADIUS)[0]
    if kind == 'dense':
        torch.set_flush_denormal(True)
    else:
        # compile (or load from numba's cache) the kernel outside the timing: a
        # once-per-process cost, not the walk's
        small, small_boundary = make_inputs(8, 8, seed)
        random_walk(
            small, boundary_to_affinity(small_boundary[None], RADIUS)[0], RADIUS, BETA
        )
    base = rss_mb()
    reset = reset_peak_rss()
    start = time.perf_counter()
    if kind == 'sparse':
        walked = random_walk(x, affinity, RADIUS, BETA, steps=2**LOGT)
    elif kind == 'dense':
        walked = dense_random_walk(x, affinity, RADIUS, BETA, logt=LOGT)
    else:
        raise ValueError(f'kind must be sparse or dense, got {kind!r}')
    seconds = time.perf_counter() - start
    peak = peak_rss_mb() - base if reset else float('nan')
    return dict(
        kind=kind,
        size=[height, width],
        seconds=seconds,
        peak_mb=max(peak, 0.0),
        labels=_labels(walked).reshape(-1).tolist(),
    )


def measure(kind: str, height: int, width: int, timeout: float = 3600) -> dict:
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
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)),
    )
    if proc.returncode != 0:
        raise RuntimeError(f'{kind} walk at {height}x{width} failed:\n{proc.stderr}')
    return json.loads(proc.stdout.strip().splitlines()[-1])


def compare(
    sizes=((64, 64), (125, 94)), sparse_only=((512, 512),), progress=True
) -> list[dict]:
    """Sparse and dense walks side by side; returns one row per size."""
    rows = []
    for height, width in sizes:
        sparse = measure('sparse', height, width)
        dense = measure('dense', height, width)
        agree = np.mean(np.array(sparse['labels']) == np.array(dense['labels']))
        rows.append(
            dict(
                size=[height, width],
                sparse_s=sparse['seconds'],
                sparse_peak_mb=sparse['peak_mb'],
                dense_s=dense['seconds'],
                dense_peak_mb=dense['peak_mb'],
                speedup=dense['seconds'] / sparse['seconds'],
                agreement=float(agree),
            )
        )
        if progress:
            print(f'walk {height}x{width}: {rows[-1]}', file=sys.stderr, flush=True)
    for height, width in sparse_only:
        sparse = measure('sparse', height, width)
        rows.append(
            dict(
                size=[height, width],
                sparse_s=sparse['seconds'],
                sparse_peak_mb=sparse['peak_mb'],
            )
        )
        if progress:
            print(f'walk {height}x{width}: {rows[-1]}', file=sys.stderr, flush=True)
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--one', nargs=3, metavar=('KIND', 'H', 'W'))
    args = parser.parse_args(argv)
    if args.one:
        kind, height, width = args.one[0], int(args.one[1]), int(args.one[2])
        print(json.dumps(measure_one(kind, height, width)))
    else:
        print(json.dumps(compare(), indent=1))


if __name__ == '__main__':
    main()
