"""A training run's iteration times, summed over every part of a resumed run,
and its loss at the start and the end (a run that diverged says so).

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
#: the message hub's key of the training iterations' total loss
#: (mmengine's RuntimeInfoHook: every output of the train step, each iteration)
LOSS_KEY = 'train/loss'
#: a training whose loss ends above this many times its start diverged
DIVERGED_RATIO = 2.0


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


def history_loss(buffer, window: int = 10) -> dict | None:
    """The loss of a training run from a ``HistoryBuffer`` of its iterations'
    losses: ``first``, the median of its first ``window`` iterations (the
    model as it started), ``last``, the median of its last ``window``
    iterations, ``max``, and ``diverged``: a loss that is not finite or ends
    above :data:`DIVERGED_RATIO` times where it started (a classifier's
    peak-stimulated loss that went 0.97 -> 198 in 40 iterations; a run that
    learns ends below its start, IRN's slowly: 2.6 -> 2.4 on the bench, so a
    loss about where it started is noise, not divergence). None when it is
    empty."""
    values = np.asarray(buffer.data[0], dtype=np.float64)
    if not values.size:
        return None
    window = min(window, values.size)
    first = float(np.median(values[:window]))
    last = float(np.median(values[-window:]))
    finite = bool(np.isfinite(values).all())
    return dict(
        first=round(first, 4),
        last=round(last, 4),
        max=round(float(np.max(values)), 4),
        diverged=not finite or last > DIVERGED_RATIO * first,
    )


def message_hub_loss(message_hub) -> dict | None:
    """The training loss in a ``MessageHub`` (a runner's): :func:`history_loss`,
    or None."""
    buffer = message_hub.log_scalars.get(LOSS_KEY)
    return None if buffer is None else history_loss(buffer)


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
