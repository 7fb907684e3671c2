"""``WalkBenchmark``: our random walk timed against the dense formulation."""

from __future__ import annotations

import os.path as osp
import time

from ...registry import STAGES
from ..context import write_json
from ..walk_benchmark import compare
from .base import BaseStage


@STAGES.register_module()
class WalkBenchmark(BaseStage):
    """Time our random walk against the published dense formulation
    (:mod:`mmwsss.pipeline.walk_benchmark`), each in a fresh process, on maps
    of ``sizes`` (both) and ``sparse_only`` (ours alone: the dense matrix
    would not fit). Ours is timed twice: the numba kernel (CPU) and the torch
    backend (one sparse product per step) on ``torch_device`` (None: ``cuda``
    when available, else ``cpu``). Rank 0 alone."""

    def run(
        self,
        ctx,
        sizes: list = ((64, 64), (125, 94)),
        sparse_only: list = ((512, 512),),
        torch_device: str | None = None,
    ) -> dict:
        start = time.perf_counter()
        rows = compare(
            sizes=[tuple(s) for s in sizes],
            sparse_only=[tuple(s) for s in sparse_only],
            torch_device=torch_device,
        )
        out_dir = ctx.stage_dir(self.name)
        write_json(osp.join(out_dir, 'walk.json'), dict(rows=rows))
        return dict(
            kind='walk benchmark',
            out_dir=osp.abspath(out_dir),
            rows=rows,
            seconds=round(time.perf_counter() - start, 1),
        )
