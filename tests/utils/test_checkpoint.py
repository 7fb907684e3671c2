"""Runner checkpoints resume and load under torch's weights_only loader."""

from __future__ import annotations

import io
import pickle
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn as nn
from mmengine.evaluator import BaseMetric
from mmengine.hooks import Hook
from mmengine.logging import HistoryBuffer
from mmengine.model import BaseModel
from mmengine.runner import Runner
from mmengine.runner.checkpoint import CheckpointLoader
from torch.utils.data import Dataset

from mmwsss.engine.hooks import SafeCheckpointLoaderHook
from mmwsss.utils.checkpoint import (
    load_from_local_safe,
    register_safe_checkpoint_loader,
    safe_checkpoint_globals,
    safe_checkpoint_loader,
)

MAX_ITERS = 4


class ToyRegressor(BaseModel):
    """Linear regression with mmengine's model interface."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(2, 1)

    def forward(
        self,
        inputs: list[torch.Tensor],
        targets: list[torch.Tensor],
        mode: str = 'tensor',
    ) -> dict | list:
        x = torch.stack(inputs)  # [n, 2]
        y = torch.stack(targets)  # [n, 1]
        pred = self.linear(x)
        if mode == 'loss':
            return dict(loss=((pred - y) ** 2).mean())
        return [dict(pred=p, target=t) for p, t in zip(pred, y)]


class ToyDataset(Dataset):
    """Eight points on y = x0 - x1 with a dataset_meta like mmseg's."""

    metainfo = dict(classes=('background', 'thing'), palette=[[0, 0, 0], [9, 9, 9]])

    def __len__(self) -> int:
        return 8

    def __getitem__(self, idx: int) -> dict:
        x = torch.tensor([idx / 8, 1 - idx / 8])
        return dict(inputs=x, targets=(x[:1] - x[1:]))


class ToyMSE(BaseMetric):
    """Returns numpy scalars, as mmseg's IoUMetric does (they reach the checkpoint
    through ``best_score`` and the message hub)."""

    def process(self, data_batch: dict, data_samples: list[dict]) -> None:
        for sample in data_samples:
            self.results.append(float((sample['pred'] - sample['target']) ** 2))

    def compute_metrics(self, results: list) -> dict:
        return dict(mse=np.float64(np.mean(results)), worst=np.max(np.array(results)))


class IterRecorder(Hook):
    """Records ``runner.iter`` when training starts and before each iteration."""

    def __init__(self) -> None:
        self.iter_at_start: int | None = None
        self.weight_at_start: torch.Tensor | None = None
        self.best_at_start: float | None = None
        self.iters: list[int] = []

    def before_train(self, runner: Runner) -> None:
        self.iter_at_start = runner.iter
        self.weight_at_start = runner.model.linear.weight.detach().clone()
        self.best_at_start = runner.message_hub.get_info('best_score')

    def before_train_iter(
        self, runner: Runner, batch_idx: int, data_batch=None
    ) -> None:
        self.iters.append(runner.iter)


class Opaque:
    """A class no allow-list knows."""

    def __init__(self) -> None:
        self.value = 1


class GetattrPayload:
    """Pickles as ``getattr(HistoryBuffer, '__init__')``: not a statistics method."""

    def __reduce__(self) -> tuple:
        return getattr, (HistoryBuffer, '__init__')


def make_runner(
    work_dir: Path, name: str, hooks: Sequence[Hook] = (), **kwargs
) -> Runner:
    """Build a CPU runner: 4 iterations, checkpoint and validation every 2."""
    loader = dict(
        dataset=ToyDataset(),
        sampler=dict(type='DefaultSampler', shuffle=False),
        batch_size=2,
        num_workers=0,
    )
    return Runner(
        model=ToyRegressor(),
        work_dir=str(work_dir),
        experiment_name=name,
        train_dataloader=loader,
        val_dataloader=loader,
        val_evaluator=[ToyMSE()],
        val_cfg=dict(),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9)),
        param_scheduler=[
            dict(type='LinearLR', start_factor=0.5, by_epoch=False, end=2),
            dict(type='PolyLR', by_epoch=False, begin=2, end=MAX_ITERS),
        ],
        train_cfg=dict(type='IterBasedTrainLoop', max_iters=MAX_ITERS, val_interval=2),
        default_hooks=dict(
            checkpoint=dict(
                type='CheckpointHook',
                interval=2,
                by_epoch=False,
                save_best='mse',
                rule='less',
            ),
            logger=dict(type='LoggerHook', interval=1),
        ),
        custom_hooks=list(hooks),
        default_scope='mmengine',
        randomness=dict(seed=0),
        **kwargs,
    )


@pytest.fixture(scope='module')
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """Train once; return the work dir and the final model weights."""
    work_dir = tmp_path_factory.mktemp('first_run')
    runner = make_runner(work_dir, 'first_run')
    runner.train()
    weights = {k: v.clone() for k, v in runner.model.state_dict().items()}
    return work_dir, weights


def test_plain_torch_load_refuses_runner_checkpoint(trained: tuple[Path, dict]) -> None:
    """The break this module fixes: torch's default loader fails on our files."""
    if not hasattr(torch.serialization, 'safe_globals'):
        pytest.skip('torch < 2.5 loads without weights_only by default')
    work_dir, _ = trained
    with pytest.raises(pickle.UnpicklingError, match='Unsupported global'):
        torch.load(work_dir / 'iter_2.pth', weights_only=True)


def test_resume_continues_to_the_end(
    trained: tuple[Path, dict], tmp_path: Path
) -> None:
    work_dir, final_weights = trained
    checkpoint = work_dir / 'iter_2.pth'
    saved = load_from_local_safe(str(checkpoint), map_location='cpu')
    assert saved['meta']['iter'] == 2
    assert isinstance(saved['message_hub']['log_scalars']['train/loss'], HistoryBuffer)
    assert isinstance(saved['message_hub']['runtime_info']['best_score'], np.float64)

    recorder = IterRecorder()
    runner = make_runner(
        tmp_path, 'resumed', hooks=[recorder], load_from=str(checkpoint), resume=True
    )
    with safe_checkpoint_loader():
        runner.train()

    assert recorder.iter_at_start == 2
    torch.testing.assert_close(
        recorder.weight_at_start, saved['state_dict']['linear.weight']
    )
    assert recorder.iters == [2, 3]
    assert runner.iter == MAX_ITERS
    assert (tmp_path / f'iter_{MAX_ITERS}.pth').is_file()
    # Restored optimizer momentum and scheduler give the uninterrupted result.
    for key, value in runner.model.state_dict().items():
        torch.testing.assert_close(value, final_weights[key])
    # The message hub came back too: the best score of iteration 2.
    assert recorder.best_at_start == saved['message_hub']['runtime_info']['best_score']


def test_load_from_restores_weights(trained: tuple[Path, dict], tmp_path: Path) -> None:
    work_dir, final_weights = trained
    runner = make_runner(
        tmp_path, 'loaded', load_from=str(work_dir / f'iter_{MAX_ITERS}.pth')
    )
    with torch.no_grad():
        runner.model.linear.weight.fill_(7.0)
    with safe_checkpoint_loader():
        runner.load_or_resume()
    for key, value in runner.model.state_dict().items():
        torch.testing.assert_close(value, final_weights[key])
    assert runner.iter == 0


def test_best_checkpoint_loads(trained: tuple[Path, dict]) -> None:
    work_dir, _ = trained
    (best,) = work_dir.glob('best_mse_iter_*.pth')
    best_iter = int(best.stem.rsplit('_', 1)[1])
    with safe_checkpoint_loader():
        checkpoint = CheckpointLoader.load_checkpoint(str(best), map_location='cpu')
    same_iter = load_from_local_safe(str(work_dir / f'iter_{best_iter}.pth'))
    assert checkpoint['meta']['iter'] == best_iter
    for key, value in checkpoint['state_dict'].items():
        torch.testing.assert_close(value, same_iter['state_dict'][key])


def test_numpy1_module_names_load(tmp_path: Path) -> None:
    """Files written with numpy 1.x name ``numpy.core.multiarray``."""
    buffer = io.BytesIO()
    data = dict(array=np.arange(3, dtype=np.int64), score=np.float32(0.5))
    torch.save(data, buffer, _use_new_zipfile_serialization=False)
    raw = buffer.getvalue()
    assert b'numpy._core.multiarray' in raw
    path = tmp_path / 'numpy1.pth'
    path.write_bytes(raw.replace(b'numpy._core.multiarray', b'numpy.core.multiarray'))

    loaded = load_from_local_safe(str(path))
    np.testing.assert_array_equal(loaded['array'], np.arange(3))
    assert loaded['array'].dtype == np.int64
    assert loaded['score'] == np.float32(0.5)


@safe_checkpoint_loader()
def test_unknown_class_still_refused(tmp_path: Path) -> None:
    path = tmp_path / 'opaque.pth'
    torch.save(dict(state_dict={}, meta=dict(thing=Opaque())), path)
    with pytest.raises(pickle.UnpicklingError, match='Opaque'):
        CheckpointLoader.load_checkpoint(str(path), map_location='cpu')
    # A user's own allow-list is honoured, and kept after the load.
    with torch.serialization.safe_globals([Opaque]):
        loaded = CheckpointLoader.load_checkpoint(str(path), map_location='cpu')
        assert Opaque in torch.serialization.get_safe_globals()
    assert isinstance(loaded['meta']['thing'], Opaque)
    assert Opaque not in torch.serialization.get_safe_globals()


def test_getattr_is_limited_to_history_buffer_statistics(tmp_path: Path) -> None:
    path = tmp_path / 'getattr.pth'
    torch.save(dict(meta=GetattrPayload()), path)
    with pytest.raises(pickle.UnpicklingError, match='Refused getattr'):
        load_from_local_safe(str(path))


def test_allow_list_is_scoped_to_the_load(tmp_path: Path) -> None:
    path = tmp_path / 'numpy.pth'
    torch.save(dict(x=np.zeros(2)), path)
    before = set(torch.serialization.get_safe_globals())
    load_from_local_safe(str(path))
    assert set(torch.serialization.get_safe_globals()) == before
    assert np.ndarray not in before


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / 'nothing.pth'
    with pytest.raises(FileNotFoundError, match='nothing.pth'):
        load_from_local_safe(str(missing))


def test_registration_is_idempotent_and_keeps_other_schemes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # process-wide by request only; the original registry comes back afterwards
    monkeypatch.setattr(CheckpointLoader, '_schemes', dict(CheckpointLoader._schemes))
    register_safe_checkpoint_loader()
    schemes = dict(CheckpointLoader._schemes)
    register_safe_checkpoint_loader()
    assert dict(CheckpointLoader._schemes) == schemes
    assert CheckpointLoader._get_checkpoint_loader('work_dirs/a.pth') is (
        load_from_local_safe
    )
    for prefix in ('open-mmlab://resnet50_v1c', 'torchvision://resnet18', 'http://x'):
        loader = CheckpointLoader._get_checkpoint_loader(prefix)
        assert loader.__module__ == 'mmengine.runner.checkpoint', prefix


def test_import_leaves_mmengine_loaders_alone() -> None:
    """``import mmwsss`` (every registry filled) replaces no checkpoint loader."""
    script = (
        'from mmengine.runner.checkpoint import CheckpointLoader as L\n'
        'before = list(L._schemes.items())\n'
        'import mmwsss\n'
        'assert list(L._schemes.items()) == before, L._schemes\n'
        "print(L._get_checkpoint_loader('a.pth').__module__)\n"
    )
    proc = subprocess.run(
        [sys.executable, '-c', script], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split() == ['mmengine.runner.checkpoint']


def test_context_is_scoped_and_nests() -> None:
    schemes = list(CheckpointLoader._schemes.items())
    mmengine_loader = CheckpointLoader._get_checkpoint_loader('a.pth')
    assert mmengine_loader is not load_from_local_safe
    with safe_checkpoint_loader():
        assert CheckpointLoader._get_checkpoint_loader('a.pth') is load_from_local_safe
        with safe_checkpoint_loader():
            pass
        assert CheckpointLoader._get_checkpoint_loader('a.pth') is load_from_local_safe
    assert list(CheckpointLoader._schemes.items()) == schemes
    with pytest.raises(RuntimeError), safe_checkpoint_loader():
        raise RuntimeError
    assert list(CheckpointLoader._schemes.items()) == schemes


def test_resume_outside_mmwsss_runs_uses_mmengine_loader(
    trained: tuple[Path, dict], tmp_path: Path
) -> None:
    """Outside the context mmengine's own loader runs (and, torch >= 2.6,
    refuses the Runner's checkpoint): the fix applies to mmwsss's runs only."""
    if not hasattr(torch.serialization, 'safe_globals'):
        pytest.skip('torch < 2.5 loads without weights_only by default')
    work_dir, _ = trained
    runner = make_runner(
        tmp_path, 'plain', load_from=str(work_dir / 'iter_2.pth'), resume=True
    )
    with pytest.raises(pickle.UnpicklingError, match='Unsupported global'):
        runner.train()


def test_hook_resumes_a_run_and_restores_the_loader(
    trained: tuple[Path, dict], tmp_path: Path
) -> None:
    """The hook is the config-only form for other entry points."""
    work_dir, final_weights = trained
    mmengine_loader = CheckpointLoader._get_checkpoint_loader('a.pth')
    recorder = IterRecorder()
    runner = make_runner(
        tmp_path,
        'hooked',
        hooks=[SafeCheckpointLoaderHook(), recorder],
        load_from=str(work_dir / 'iter_2.pth'),
        resume=True,
    )
    runner.train()
    assert recorder.iters == [2, 3]
    for key, value in runner.model.state_dict().items():
        torch.testing.assert_close(value, final_weights[key])
    assert CheckpointLoader._get_checkpoint_loader('a.pth') is mmengine_loader


def test_allow_list_has_both_numpy_spellings() -> None:
    names = {
        entry[1] for entry in safe_checkpoint_globals() if isinstance(entry, tuple)
    }
    for module in ('numpy.core.multiarray', 'numpy._core.multiarray'):
        assert {f'{module}._reconstruct', f'{module}.scalar'} <= names
    assert 'builtins.getattr' in names
    assert type(np.dtype(np.float64)) in safe_checkpoint_globals()
