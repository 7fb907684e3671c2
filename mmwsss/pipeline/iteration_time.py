"""A training run's iteration times, summed over every part of a resumed run.

A stage's ``train_s`` is wall time, and a run killed between checkpoints loses
its part's time (``train_time.json`` sums finished runs only). mmengine keeps
each training iteration's time (``IterTimerHook``: data loading included) in
the message hub under ``train/time``, saves the hub in every checkpoint and
loads it again on resume, so the history at the end of a run holds one time
per iteration of the whole training, each part's iterations up to its last
checkpoint included and the work redone after a kill counted once.

Its median times the iteration count estimates the run on an otherwise idle
machine: on 2 shared CPU cores another process's bursts multiply the step
time (3.7 s alone, 15-36 s beside a test run on the bench's CAM), which the
sum keeps and the median discards.
"""

from __future__ import annotations

import os.path as osp

import numpy as np

#: the message hub's key of the training iterations' times
TIME_KEY = 'train/time'


def history_times(buffer) -> dict | None:
    """``count``, ``sum_s`` and ``median_s`` of a ``HistoryBuffer`` of
    iteration times (each update one iteration), or None when it is empty."""
    values = np.asarray(buffer.data[0], dtype=np.float64)
    counts = np.asarray(buffer.data[1])
    if not values.size:
        return None
    if (counts != 1).any():
        raise ValueError(f'{TIME_KEY}: expected one update per iteration')
    return dict(
        count=int(values.size),
        sum_s=round(float(values.sum()), 1),
        median_s=round(float(np.median(values)), 4),
    )


def message_hub_times(message_hub) -> dict | None:
    """The iteration times in a ``MessageHub`` (a runner's), or None."""
    buffer = message_hub.log_scalars.get(TIME_KEY)
    return None if buffer is None else history_times(buffer)


def checkpoint_times(work_dir: str) -> dict | None:
    """The iteration times saved in ``work_dir``'s last checkpoint (for a run
    whose manifest predates them), or None without one."""
    pointer = osp.join(work_dir, 'last_checkpoint')
    if not osp.exists(pointer):
        return None
    with open(pointer) as f:
        path = f.read().strip()
    if not osp.isabs(path) or not osp.exists(path):
        # a work dir moved since: the checkpoint is its own
        path = osp.join(work_dir, osp.basename(path))
    if not osp.exists(path):
        return None
    import torch

    checkpoint = torch.load(path, map_location='cpu', weights_only=False)
    buffer = checkpoint.get('message_hub', {}).get('log_scalars', {}).get(TIME_KEY)
    return None if buffer is None else history_times(buffer)
