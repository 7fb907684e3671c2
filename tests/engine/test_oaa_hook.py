"""OAAHook: accumulation over epochs as OAA does it (the first epoch skipped,
top-k classes, min-max normalised, flips undone, the last epoch filling in),
the export's min-max normalisation, crops refused; the maps on disk (memory
that does not grow with the images), resumed runs and two ranks giving the
maps of one uninterrupted process."""

import gc
import glob
import json
import os
import os.path as osp
import socket
import subprocess
import sys
import tracemalloc
import zlib
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmseg.structures import SegDataSample

import mmwsss  # noqa: F401
from mmwsss.engine.hooks import OAAHook
from mmwsss.utils.map_file import load_map_file

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _sample(stem, labels, flip=False, img_shape=(8, 8)):
    """A 4x4 image resized to 8x8 (scale 2)."""
    sample = SegDataSample(
        metainfo=dict(
            img_path=f'/data/{stem}.jpg',
            ori_shape=(4, 4),
            img_shape=img_shape,
            scale_factor=(2.0, 2.0),
            flip=flip,
            flip_direction='horizontal' if flip else None,
        )
    )
    sample.gt_img_labels = torch.tensor(labels, dtype=torch.long)
    return sample


def _cam(blocks):
    """(3, 8, 8) CAM logits from (3, 4, 4) blocks of 2x2 pixels: the
    stride-1 map of the 4x4 image is then exactly the blocks (bilinear
    halving averages 2x2 cells)."""
    blocks = torch.tensor(blocks, dtype=torch.float32)
    return blocks.repeat_interleave(2, -2).repeat_interleave(2, -1)


ZERO = [[0.0] * 4] * 4


class _Dataset:
    def __init__(self, infos):
        self.infos = infos

    def __len__(self):
        return len(self.infos)

    def get_data_info(self, index):
        return self.infos[index]


def _step(hook, runner, samples, cams, logits):
    runner.model.last_train_maps = dict(
        cams=torch.stack([_cam(c) for c in cams]),
        logits=torch.tensor(logits, dtype=torch.float32),
        input_size=(8, 8),
    )
    hook.after_train_iter(runner, 0, dict(data_samples=samples))


def _runner(tmp_path, **fields):
    """A stand-in for mmengine's Runner with what OAAHook reads."""
    runner = SimpleNamespace(
        epoch=0,
        max_epochs=3,
        iter=0,
        model=SimpleNamespace(),
        work_dir=str(tmp_path),
        cfg=Config(dict(model=dict(type='x'))),
    )
    runner.__dict__.update(fields)
    return runner


def _dataset(images, size=4):
    infos = [
        dict(img_path=f'/data/{s}.jpg', img_labels=labels, height=size, width=size)
        for s, labels in images.items()
    ]
    return SimpleNamespace(dataset=_Dataset(infos))


def test_accumulation_over_epochs_by_hand(tmp_path):
    hook = OAAHook(out_dir=str(tmp_path / 'maps'), stride=1)
    assert hook.start_epoch == 1  # OAA skips the first epoch
    runner = _runner(tmp_path)
    hook.before_train(runner)
    assert runner.model.keep_train_maps
    hook.before_train_epoch(runner)
    # scores of classes 1, 2, 3: top-2 are 1 and 3, so class 2 (a label of
    # image a) is not among its top-k
    logits = [[5.0, 0.0, 3.0]]
    # epoch 0: skipped (class 1 would light the bottom-right corner)
    corner = [row[:] for row in ZERO]
    corner[3][3] = 9.0
    _step(hook, runner, [_sample('a', [1, 2])], [[corner, corner, ZERO]], logits)
    _step(hook, runner, [_sample('b', [3])], [[ZERO, ZERO, corner]], logits)
    assert hook.store.read('a') is None and hook.store.read('b') is None
    hook.after_train_epoch(runner)
    # epoch 1: class 1 of a, ReLU then min-max (max 4, min 0); class 2 not
    # in the top-k; c has no class (seen, nothing accumulated)
    runner.epoch = 1
    hook.before_train_epoch(runner)
    first = [
        [0.0, 1.0, 2.0, 4.0],
        [0.0, 0.0, 2.0, 4.0],
        [-3.0, 0.0, 0.0, 0.0],
        [-3.0, 0.0, 0.0, 0.0],
    ]
    lit = [row[:] for row in ZERO]
    lit[1][1] = 4.0
    _step(
        hook,
        runner,
        [_sample('a', [1, 2]), _sample('c', [])],
        [
            [first, lit, ZERO],
            [ZERO, ZERO, ZERO],
        ],
        logits + logits,
    )
    assert sorted(hook.store.read('a')) == [1] and hook.store.read('c') == {}
    assert hook.store.read('b') is None
    hook.after_train_epoch(runner)
    # epoch 2, the last: a flipped; class 1 never reaches 0 (min 1): min-max
    # gives (x - 1) / 2, a 1 in the input's top-left = the image's top-right;
    # class 2, still without a map, takes this epoch's attention whatever its
    # score, flipped back too
    runner.epoch = 2
    hook.before_train_epoch(runner)
    second = [[3.0, 3.0, 1.0, 1.0]] + [[1.0] * 4] * 3
    _step(
        hook, runner, [_sample('a', [1, 2], flip=True)], [[second, lit, ZERO]], logits
    )
    maps = hook.store.read('a')
    assert all(m.dtype == np.float16 for m in maps.values())
    expected_1 = np.array(
        [
            [0.0, 0.25, 1.0, 1.0],  # max of epoch 1's row and the flipped [0 0 1 1]
            [0.0, 0.0, 0.5, 1.0],
            [0.0, 0.0, 0.0, 0.0],  # epoch 0's corner was never accumulated
            [0.0, 0.0, 0.0, 0.0],
        ]
    )
    np.testing.assert_allclose(maps[1].astype(np.float32), expected_1, atol=1e-6)
    expected_2 = np.zeros((4, 4))
    expected_2[1, 2] = 1.0  # input (1, 1) flipped back in a 4-wide image
    np.testing.assert_allclose(maps[2].astype(np.float32), expected_2, atol=1e-6)
    hook.after_train_epoch(runner)

    # the export: every training image in the dataset, b never accumulated
    runner.train_dataloader = _dataset({'a': [1, 2], 'b': [3], 'c': []})
    runner.iter = 9
    hook.after_train(runner)
    out = tmp_path / 'maps'
    keys, data = load_map_file(str(out / 'a.npz'))
    assert keys.tolist() == [1, 2]
    # the CAM seed format stores 8 bits per value (within 1/510); these maps'
    # values are multiples of 1/4, which 8 bits do not hold exactly
    np.testing.assert_allclose(data['cam'][0], expected_1, atol=1 / 510)
    np.testing.assert_allclose(data['cam'][1], expected_2, atol=1 / 510)
    assert data['high_res'].shape == (2, 4, 4)  # stride 1: the same grid
    keys, data = load_map_file(str(out / 'c.npz'))
    assert keys.tolist() == [] and data['cam'].shape == (0, 4, 4)
    assert not osp.exists(out / 'b.npz')
    report = json.loads((out / 'unseen_images.json').read_text())
    assert report == dict(unseen=['b'], classes_never_attended=0, written=2)


def test_export_is_min_max_normalised(tmp_path):
    hook = OAAHook(out_dir=str(tmp_path / 'maps'), stride=2)
    runner = _runner(tmp_path, iter=0)
    hook.before_train(runner)
    hook.before_train_epoch(runner)
    # a 4x4 image's stride-2 map that never reaches 0 nor 1
    hook.store.write('d', {1: np.array([[0.2, 0.4], [0.6, 0.6]], np.float16)})
    hook.after_train_epoch(runner)
    runner.train_dataloader = _dataset({'d': [1, 3]})
    hook.after_train(runner)
    keys, data = load_map_file(str(tmp_path / 'maps' / 'd.npz'))
    assert keys.tolist() == [1, 3]
    # float16 storage of the accumulation: 0.2 -> 0.19995..., 0.6 -> 0.6001;
    # 8 bits in the export
    np.testing.assert_allclose(data['cam'][0], [[0, 0.5], [1, 1]], atol=3e-3)
    assert data['cam'][1].max() == 0  # class 3 was never attended
    high = data['high_res']
    assert high.shape == (2, 4, 4) and high.min() >= 0 and high.max() <= 1
    report = json.loads((tmp_path / 'maps' / 'unseen_images.json').read_text())
    assert report['classes_never_attended'] == 1


def test_a_short_run_fills_in_at_its_last_epoch(tmp_path):
    # one epoch, before start_epoch: every class of every image takes the
    # epoch's attention, whatever its score (no map would be written else)
    hook = OAAHook(stride=1)
    runner = _runner(tmp_path, max_epochs=1)
    hook.before_train(runner)
    hook.before_train_epoch(runner)
    lit = [row[:] for row in ZERO]
    lit[0][0] = 2.0
    _step(hook, runner, [_sample('a', [2])], [[ZERO, lit, ZERO]], [[9.0, 0.0, 5.0]])
    assert hook.store.read('a')[2][0, 0] == 1
    # once a class has a map, a repeat (DDP padding) before start_epoch
    # leaves it alone
    corner = [row[:] for row in ZERO]
    corner[3][3] = 1.0
    _step(hook, runner, [_sample('a', [2])], [[ZERO, corner, ZERO]], [[0.0, 9.0, 0.0]])
    assert hook.store.read('a')[2][3, 3] == 0


def test_a_cropped_input_is_an_error_from_the_first_iteration(tmp_path):
    hook = OAAHook()
    runner = _runner(tmp_path, max_epochs=8)
    hook.before_train(runner)
    cropped = _sample('a', [1], img_shape=(6, 8))  # 8x8 resized, cut to 6x8
    with pytest.raises(ValueError, match='cropped.*remove the crop'):
        _step(hook, runner, [cropped], [[ZERO, ZERO, ZERO]], [[1.0, 0.0, 0.0]])
    with pytest.raises(ValueError, match='start_epoch'):
        OAAHook(start_epoch=-1)


# --- a simulated training: the same attention for an image in an epoch
# whichever rank computes it, so that one and two processes can be compared

#: Seven training images (an odd count: a two-rank sampler pads one repeat).
IMAGES = {
    'a': [1, 2],
    'b': [3],
    'c': [],
    'd': [2, 3],
    'e': [1],
    'f': [1, 2, 3],
    'g': [2],
}


def _attention(stem: str, epoch: int, salt: int = 0):
    """(3, 8, 8) CAM logits and (3,) scores of an image in an epoch (``salt``:
    another run's)."""
    seed = zlib.crc32(f'{stem}/{epoch}/{salt}'.encode())
    gen = torch.Generator().manual_seed(seed)
    blocks = torch.randn(3, 4, 4, generator=gen)
    cam = blocks.repeat_interleave(2, -2).repeat_interleave(2, -1)
    return cam, torch.randn(3, generator=gen)


def _epoch_order(epoch: int, world_size: int, rank: int) -> list[str]:
    """The images of a rank in an epoch, as a shuffling DistributedSampler
    gives them (padded with repeats to a multiple of the ranks)."""
    gen = torch.Generator().manual_seed(100 + epoch)
    stems = sorted(IMAGES)
    order = [stems[i] for i in torch.randperm(len(stems), generator=gen)]
    order += order[: -len(order) % world_size]
    return order[rank::world_size]


def simulate(
    work_dir, epochs, checkpoint=None, world_size=1, rank=0, stop=None, salt=0
):
    """Train ``epochs`` (a range) of the simulated run with an OAAHook in
    ``work_dir`` (resuming from ``checkpoint`` when given) and export the
    maps when the range ends the run. ``stop=(epoch, n)`` breaks off after
    ``n`` iterations of ``epoch``, as a killed run does; ``salt`` changes the
    attention (a run whose files must not count).

    Returns:
        dict: The checkpoint saved after the last finished epoch.
    """
    hook = OAAHook(out_dir=osp.join(work_dir, 'oaa_maps'), stride=1)
    runner = _runner(work_dir, max_epochs=3, train_dataloader=_dataset(IMAGES))
    if checkpoint is not None:
        hook.after_load_checkpoint(runner, checkpoint)
        runner.iter = checkpoint['meta']['iter']
    hook.before_train(runner)
    for epoch in epochs:
        runner.epoch = epoch
        hook.before_train_epoch(runner)
        mine = _epoch_order(epoch, world_size, rank)
        for start in range(0, len(mine), 2):  # batches of 2
            if stop == (epoch, start // 2):
                return checkpoint
            stems = mine[start : start + 2]
            samples = [
                _sample(s, IMAGES[s], flip=bool((epoch + ord(s)) % 2)) for s in stems
            ]
            cams, logits = zip(*(_attention(s, epoch, salt) for s in stems))
            runner.model.last_train_maps = dict(
                cams=torch.stack(cams), logits=torch.stack(logits), input_size=(8, 8)
            )
            hook.after_train_iter(runner, start // 2, dict(data_samples=samples))
            runner.iter += 1
        hook.after_train_epoch(runner)
        checkpoint = dict(meta=dict(epoch=epoch + 1, iter=runner.iter))
        hook.before_save_checkpoint(runner, checkpoint)
        assert set(checkpoint) == {'meta', 'oaa_store'}  # no maps in it
    if epochs[-1] == runner.max_epochs - 1:
        hook.after_train(runner)
    return checkpoint


def _exported(folder) -> dict:
    """Every exported file's keys and maps, and the unseen-images report."""
    out = {}
    for path in sorted(glob.glob(osp.join(folder, '*.npz'))):
        keys, maps = load_map_file(path)
        out[osp.basename(path)] = dict(keys=keys, **maps)
    with open(osp.join(folder, 'unseen_images.json')) as f:
        out['report'] = json.load(f)
    return out


def _assert_same(a: dict, b: dict) -> None:
    assert sorted(a) == sorted(b)
    assert a['report'] == b['report']
    for name in set(a) - {'report'}:
        for key, value in a[name].items():
            np.testing.assert_array_equal(value, b[name][key], err_msg=name)


def test_a_resumed_run_gives_the_maps_of_an_uninterrupted_one(tmp_path):
    simulate(str(tmp_path / 'whole'), range(3))
    whole = _exported(tmp_path / 'whole' / 'oaa_maps')
    assert whole['report']['written'] == len(IMAGES)

    # killed in epoch 2 after one iteration, resumed from epoch 1's checkpoint:
    # the killed epoch's files are dropped, the resumed loop runs it again
    work = str(tmp_path / 'resumed')
    checkpoint = simulate(work, range(2))
    simulate(work, range(2, 3), checkpoint=checkpoint, stop=(2, 1), salt=1)
    assert os.listdir(osp.join(work, 'oaa_accumulation', 'rank0'))
    simulate(work, range(2, 3), checkpoint=checkpoint)
    _assert_same(_exported(osp.join(work, 'oaa_maps')), whole)

    # killed after epoch 1's files were closed, before its checkpoint: resumed
    # from epoch 0's
    work = str(tmp_path / 'late')
    first = simulate(work, range(1))
    simulate(work, range(1, 2), checkpoint=first, salt=1)
    simulate(work, range(1, 3), checkpoint=first)
    _assert_same(_exported(osp.join(work, 'oaa_maps')), whole)

    # a store that has merged past the checkpoint cannot go back: named
    with pytest.raises(RuntimeError, match='cannot go back.*interval=1'):
        simulate(work, range(1, 3), checkpoint=first)
    # nor can a store of another run, or a lost one
    other = simulate(str(tmp_path / 'other'), range(1))
    with pytest.raises(RuntimeError, match='another run'):
        simulate(work, range(1, 3), checkpoint=other)
    os.rename(osp.join(work, 'oaa_accumulation'), osp.join(work, 'moved'))
    with pytest.raises(RuntimeError, match='are not in'):
        simulate(work, range(1, 3), checkpoint=first)


def test_a_checkpoint_of_the_earlier_format_resumes(tmp_path):
    simulate(str(tmp_path / 'whole'), range(3))
    whole = _exported(tmp_path / 'whole' / 'oaa_maps')
    # what the earlier hook kept in a checkpoint: every image's maps
    work = str(tmp_path / 'legacy')
    checkpoint = simulate(work, range(2))
    store = osp.join(work, 'oaa_accumulation')
    legacy = {}
    # the merged epochs' files, then the closed epoch's (each a superset)
    for folder in ('maps', 'rank0'):
        for path in glob.glob(osp.join(store, folder, '*.npz')):
            with np.load(path) as data:
                legacy[osp.basename(path)[:-4]] = {int(c): data[c] for c in data.files}
    checkpoint = dict(meta=checkpoint['meta'], oaa=legacy)
    simulate(work, range(2, 3), checkpoint=checkpoint)
    _assert_same(_exported(osp.join(work, 'oaa_maps')), whole)


def _retained_bytes(tmp_path, num_images: int) -> tuple[int, int]:
    """Python-heap bytes an OAAHook holds after accumulating ``num_images``
    images of 64 x 64 (two classes each), and the bytes of their maps."""
    hook = OAAHook(stride=1)
    runner = _runner(tmp_path / str(num_images), max_epochs=2, epoch=1)
    hook.before_train(runner)
    hook.before_train_epoch(runner)
    cam = torch.rand(1, 3, 64, 64)
    logits = torch.tensor([[2.0, 1.0, 0.0]])
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for i in range(num_images):
        sample = SegDataSample(
            metainfo=dict(
                img_path=f'/data/{i:05d}.jpg', ori_shape=(64, 64), img_shape=(64, 64)
            )
        )
        sample.gt_img_labels = torch.tensor([1, 2])
        runner.model.last_train_maps = dict(
            cams=cam, logits=logits, input_size=(64, 64)
        )
        hook.after_train_iter(runner, i, dict(data_samples=[sample]))
    del sample
    gc.collect()
    retained = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert len(hook.store.read('00000')) == 2  # on disk
    return retained, num_images * 2 * 64 * 64 * 2


def test_the_hooks_memory_does_not_grow_with_the_images(tmp_path):
    few, _ = _retained_bytes(tmp_path, 20)
    many, maps_bytes = _retained_bytes(tmp_path, 400)
    # 400 images' float16 maps are 6.6 MB; the hook keeps a few KB whatever
    # the count (the earlier hook kept every map: > maps_bytes)
    assert many < few + 32 * 1024, (few, many)
    assert many < maps_bytes / 100, (many, maps_bytes)


# the simulated run on each rank of a gloo group (torchrun's environment)
DDP_RUN = """
import importlib.util, sys
import torch.distributed as dist
spec = importlib.util.spec_from_file_location('oaa_test', {test!r})
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
dist.init_process_group('gloo')
module.simulate(sys.argv[1], range(3), world_size=2, rank=dist.get_rank())
dist.destroy_process_group()
"""


@pytest.mark.skipif(torch.cuda.is_available(), reason='one GPU per process there')
def test_two_ranks_merge_into_the_maps_of_one_process(tmp_path):
    simulate(str(tmp_path / 'one'), range(3))
    one = _exported(tmp_path / 'one' / 'oaa_maps')
    script = tmp_path / 'ddp_run.py'
    script.write_text(DDP_RUN.format(test=osp.abspath(__file__)))
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    command = [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', '2']
    command += ['--master_port', str(port), str(script), str(tmp_path / 'two')]
    proc = subprocess.run(
        command,
        cwd=ROOT,
        env=dict(os.environ, OMP_NUM_THREADS='1'),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    # each epoch's images were split over the ranks (one repeated on both)
    assert set(_epoch_order(1, 2, 0)) & set(_epoch_order(1, 2, 1))
    _assert_same(_exported(tmp_path / 'two' / 'oaa_maps'), one)
