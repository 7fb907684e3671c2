"""mmwsss.pipeline.per_image: the shared per-image runner's worker pool."""

import gc
import os
import os.path as osp
import weakref
from functools import partial

import pytest
from torch.utils.data import DataLoader

from mmwsss.pipeline.per_image import run_per_image


def _write(out_dir, image_id):
    gc.collect()  # as a worker's own collector would, sooner or later
    with open(osp.join(out_dir, image_id + '.txt'), 'w') as f:
        f.write(image_id)


def _note_pid(path):
    with open(path, 'a') as f:
        f.write(f'{os.getpid()}\n')


def _leave_a_loader_behind(marker, image_id):
    """The runner's input check; on the last id it leaves what an earlier
    stage leaves: a DataLoader iterator in a reference cycle, old enough that
    only a full collection frees it; ``marker`` receives the id of the process
    that frees it."""
    if image_id == 'd':
        iterator = iter(DataLoader(list(range(4)), num_workers=1))
        next(iterator)
        weakref.finalize(iterator, _note_pid, marker)
        cycle = [iterator]
        cycle.append(cycle)
        gc.collect()  # the cycle, still referenced, moves to the oldest generation
    return []


def test_forked_workers_do_not_collect_the_parents_loaders(tmp_path):
    """Garbage of the parent is freed in the parent before the pool forks, not
    in each worker (where a DataLoader iterator's __del__ fails with 'can only
    test a child process', printed once per worker)."""
    marker = str(tmp_path / 'freed_by')
    out_dir = str(tmp_path / 'out')
    ids = ['a', 'b', 'c', 'd']
    counts = run_per_image(
        out_dir,
        dict(kind='test'),
        ids,
        '.txt',
        partial(_write, out_dir),
        partial(_leave_a_loader_behind, marker),
        'test',
        workers=2,
        progress=False,
    )
    assert counts['written'] == 4
    for image_id in ids:
        assert open(osp.join(out_dir, image_id + '.txt')).read() == image_id
    # freed once, by this process (not by a worker)
    assert open(marker).read().split() == [str(os.getpid())]


def test_cpus_per_rank_shares_the_affinity_among_local_ranks(monkeypatch):
    import mmwsss.pipeline.per_image as per_image

    monkeypatch.setattr(os, 'sched_getaffinity', lambda pid: set(range(16)))
    for key in ('LOCAL_WORLD_SIZE', 'SLURM_NTASKS_PER_NODE'):
        monkeypatch.delenv(key, raising=False)
    assert per_image.cpus_per_rank() == 16  # one process: all of its CPUs
    monkeypatch.setattr(per_image, 'get_dist_info', lambda: (0, 8))
    assert per_image.cpus_per_rank() == 2  # all 8 ranks assumed on this machine
    monkeypatch.setenv('SLURM_NTASKS_PER_NODE', '4')
    assert per_image.cpus_per_rank() == 4
    monkeypatch.setenv('LOCAL_WORLD_SIZE', '2')  # torchrun's, first
    assert per_image.cpus_per_rank() == 8
    monkeypatch.setenv('LOCAL_WORLD_SIZE', '32')
    assert per_image.cpus_per_rank() == 1  # at least one


def test_workers_default_and_check(tmp_path, monkeypatch):
    import mmwsss.pipeline.per_image as per_image

    monkeypatch.setattr(per_image, 'cpus_per_rank', lambda: 3)
    out_dir = str(tmp_path / 'out')
    counts = run_per_image(
        out_dir,
        dict(kind='test'),
        ['a', 'b'],
        '.txt',
        partial(_write, out_dir),
        lambda i: [],
        'test',
        progress=False,
    )
    assert counts['written'] == 2 and counts['workers_per_rank'] == 3
    with pytest.raises(ValueError, match='workers'):
        run_per_image(
            out_dir,
            dict(kind='test'),
            ['a'],
            '.txt',
            print,
            lambda i: [],
            'test',
            workers=0,
        )
