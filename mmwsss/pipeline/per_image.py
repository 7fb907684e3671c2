"""Folders of one output file per image, resumable and shared among ranks.

What every per-image stage (label PNGs, proposals, WISE instances) does around
its work on one image: the folder's provenance record (same record: finished
files kept and the run resumes; another: the old folder moved aside), atomic
files (stale partial files dropped), the inputs of pending images checked
before any work starts, a pool of worker processes (by default one per CPU
available to the rank: :func:`cpus_per_rank`), a progress bar, and under
a process group each rank working on its share ``ids[rank::world_size]`` with
the counts summed over the ranks.
"""

from __future__ import annotations

import gc
import glob
import multiprocessing as mp
import os
import os.path as osp
import sys
from collections.abc import Callable

import numpy as np
import torch
from mmengine.dist import all_reduce, get_dist_info
from tqdm import tqdm

from ..engine.exporters import TMP_SUFFIX
from ..utils.distributed import broadcast_from_main
from ..utils.provenance import check_or_reset


def _limit_threads() -> None:
    """Pool initializer: one thread per worker process (the pool is the
    parallelism; nested BLAS / torch threads would oversubscribe the cores)."""
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except ImportError:  # pragma: no cover - comes with scikit-learn
        pass
    if 'torch' in sys.modules:
        sys.modules['torch'].set_num_threads(1)


def local_world_size() -> int:
    """Number of this run's processes on this machine (1 without a group).

    ``LOCAL_WORLD_SIZE`` (set by torchrun), else ``SLURM_NTASKS_PER_NODE``,
    else, in a distributed run, all its ranks (as if on this machine: a
    multi-machine run without either variable gets fewer workers, never more
    than the cores).
    """
    _, world_size = get_dist_info()
    if world_size == 1:
        return 1
    for key in ('LOCAL_WORLD_SIZE', 'SLURM_NTASKS_PER_NODE'):
        value = os.environ.get(key, '')
        if value.isdigit() and int(value) > 0:
            return int(value)
    return world_size


def cpus_per_rank() -> int:
    """CPUs this process may use, shared out among the run's ranks here.

    The CPUs of the process's affinity mask (``os.sched_getaffinity``, which
    follows ``taskset`` and cgroup cpusets; ``os.cpu_count()`` where it is
    missing) divided by :func:`local_world_size`, at least 1.
    """
    if hasattr(os, 'sched_getaffinity'):
        cpus = len(os.sched_getaffinity(0))
    else:  # pragma: no cover - macOS, Windows
        cpus = os.cpu_count() or 1
    return max(1, cpus // local_world_size())


def sum_over_ranks(values: np.ndarray) -> np.ndarray:
    """Element-wise sum of an int64 array over the ranks (exact)."""
    total = torch.from_numpy(np.ascontiguousarray(values, dtype=np.int64))
    all_reduce(total, op='sum')
    return total.numpy()


def run_per_image(
    out_dir: str,
    record: dict,
    ids: list[str],
    suffix: str,
    work: Callable[[str], object],
    inputs: Callable[[str], list[str]],
    desc: str,
    workers: int | None = None,
    progress: bool = True,
) -> dict:
    """Make ``{out_dir}/{id}{suffix}`` for every id that lacks it.

    Args:
        out_dir (str): Output folder; created if missing.
        record (dict): What the files are made of (see
            :func:`mmwsss.utils.provenance.check_or_reset`).
        ids (list[str]): Image ids (duplicates ignored).
        suffix (str): Output file suffix, e.g. '.png'.
        work (Callable): ``work(image_id)`` writes the image's file (atomically);
            a picklable function (``functools.partial``) when ``workers`` > 1.
        inputs (Callable): ``inputs(image_id)``: the files it reads.
        desc (str): Progress bar label.
        workers (int, optional): Worker processes of this rank; 1 works in
            this process. Default: None, meaning :func:`cpus_per_rank`. Each
            file is made by ``work`` alone, so the files do not depend on the
            number of workers.
        progress (bool): Show a progress bar (rank 0). Default: True.

    Returns:
        dict: ``written`` / ``reused`` (summed over the ranks), ``provenance``
        (the record's digest), ``moved_to`` (an old folder's new path) and
        ``workers_per_rank`` (the pool size asked for, ``workers`` resolved).

    Raises:
        ValueError: If ``workers`` < 1.
        FileNotFoundError: If an input of a pending id is missing.
    """
    if workers is None:
        workers = cpus_per_rank()
    if workers < 1:
        raise ValueError(f'workers must be >= 1 or None, got {workers}')
    workers_per_rank = workers
    ids = list(dict.fromkeys(ids))
    rank, world_size = get_dist_info()
    if rank == 0:
        state = check_or_reset(out_dir, record)
        for stale in glob.glob(osp.join(out_dir, '*' + TMP_SUFFIX)):
            os.remove(stale)
    else:
        state = None
    # the other ranks wait for the folder's record (and its stale files' removal)
    state = broadcast_from_main(state)
    shard = ids[rank::world_size]  # each rank writes its own files
    todo = [i for i in shard if not osp.exists(osp.join(out_dir, i + suffix))]
    for image_id in todo:
        for path in inputs(image_id):
            if not osp.isfile(path):
                raise FileNotFoundError(f'{path} not found (image id {image_id!r})')
    bar = tqdm(total=len(todo), desc=desc, disable=not progress or rank > 0)
    workers = min(workers, len(todo))
    if workers <= 1:
        for image_id in todo:
            work(image_id)
            bar.update()
    else:
        # fork: workers inherit the imported modules instead of importing mmwsss
        # (seconds) again; they run numpy / PIL / scikit-image / pydensecrf code
        methods = mp.get_all_start_methods()
        ctx = mp.get_context('fork' if 'fork' in methods else None)
        # free the parent's unreachable objects first: a forked worker would
        # otherwise collect them itself, e.g. an earlier stage's DataLoader
        # iterator, whose __del__ then fails in the child ('can only test a
        # child process', printed for every worker)
        gc.collect()
        with ctx.Pool(workers, initializer=_limit_threads) as pool:
            for _ in pool.imap_unordered(work, todo):
                bar.update()
    bar.close()
    written, reused = len(todo), len(shard) - len(todo)
    if world_size > 1:
        # summed over the ranks, once each has written its files
        written, reused = sum_over_ranks(np.array([written, reused])).tolist()
    return dict(
        written=written,
        reused=reused,
        provenance=state['digest'],
        moved_to=state['moved_to'],
        workers_per_rank=workers_per_rank,
    )
