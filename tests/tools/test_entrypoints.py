"""tools/train.py and tools/test.py: command line and a tiny end-to-end run."""

from __future__ import annotations

import importlib.util
import json
import os
import os.path as osp
import socket
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import torch
import torch.nn as nn
from mmengine.evaluator import BaseMetric
from mmengine.model import BaseModel
from mmengine.registry import DATASETS, METRICS, MODELS
from torch.utils.data import Dataset

from mmwsss.utils.checkpoint import load_from_local_safe

TOOLS = Path(__file__).resolve().parents[2] / 'tools'


def load_tool(name: str) -> ModuleType:
    """Import ``tools/<name>.py`` (tools/ is not a package)."""
    spec = importlib.util.spec_from_file_location(f'tools_{name}', TOOLS / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@MODELS.register_module(force=True)
class EntryPointToyModel(BaseModel):
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
        pred = self.linear(torch.stack(inputs))  # [n, 1]
        y = torch.stack(targets)  # [n, 1]
        if mode == 'loss':
            return dict(loss=((pred - y) ** 2).mean())
        return [dict(pred=p, target=t) for p, t in zip(pred, y)]


@DATASETS.register_module(force=True)
class EntryPointToyDataset(Dataset):
    """Four points on y = x0 - x1."""

    metainfo = dict(classes=('background', 'thing'))

    def __len__(self) -> int:
        return 4

    def __getitem__(self, idx: int) -> dict:
        x = torch.tensor([idx / 4, 1 - idx / 4])
        return dict(inputs=x, targets=x[:1] - x[1:])


@METRICS.register_module(force=True)
class EntryPointToyMSE(BaseMetric):
    """Mean squared error; writes it to ``output_dir/mse.json`` when given.

    Args:
        output_dir (str, optional): Where to write ``mse.json``. Default: None.
    """

    def __init__(self, output_dir: str | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.output_dir = output_dir

    def process(self, data_batch: dict, data_samples: list[dict]) -> None:
        for sample in data_samples:
            self.results.append(float((sample['pred'] - sample['target']) ** 2))

    def compute_metrics(self, results: list) -> dict:
        mse = np.float64(np.mean(results))
        if self.output_dir is not None:
            os.makedirs(self.output_dir, exist_ok=True)
            with open(osp.join(self.output_dir, 'mse.json'), 'w') as f:
                json.dump(dict(mse=float(mse)), f)
        return dict(mse=mse)


CONFIG = """
default_scope = 'mmengine'
model = dict(type='EntryPointToyModel')
_loader = dict(
    dataset=dict(type='EntryPointToyDataset'),
    sampler=dict(type='DefaultSampler', shuffle=False),
    batch_size=2,
    num_workers=0,
)
train_dataloader = _loader
test_dataloader = _loader
test_evaluator = dict(type='EntryPointToyMSE')
test_cfg = dict()
optim_wrapper = dict(
    type='OptimWrapper', optimizer=dict(type='SGD', lr=0.1, momentum=0.9)
)
train_cfg = dict(type='IterBasedTrainLoop', max_iters=4)
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', interval=2, by_epoch=False),
    logger=dict(type='LoggerHook', interval=1),
)
randomness = dict(seed=0)
"""


@pytest.mark.parametrize('tool', ['train', 'test'])
def test_help_runs(tool: str) -> None:
    result = subprocess.run(
        [sys.executable, str(TOOLS / f'{tool}.py'), '--help'],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    for flag in ('--work-dir', '--cfg-options', '--launcher', '--local_rank'):
        assert flag in result.stdout
    expected = (
        ('--resume', '--amp', '--auto-scale-lr')
        if tool == 'train'
        else ('checkpoint', '--out')
    )
    for flag in expected:
        assert flag in result.stdout


def test_train_parse_args(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv('LOCAL_RANK', raising=False)
    train = load_tool('train')
    args = train.parse_args(
        ['cfg.py', '--cfg-options', 'a.b=1', 'c=[1,2]', '--local-rank', '3']
    )
    assert args.config == 'cfg.py'
    assert args.cfg_options == {'a.b': 1, 'c': [1, 2]}
    assert args.launcher == 'none'
    assert args.local_rank == 3
    assert os.environ['LOCAL_RANK'] == '3'
    assert args.resume is None
    assert not args.amp and not args.auto_scale_lr
    assert train.parse_args(['cfg.py', '--auto-scale-lr']).auto_scale_lr
    assert train.parse_args(['cfg.py', '--resume']).resume == 'auto'
    assert train.parse_args(['cfg.py', '--resume', 'a.pth']).resume == 'a.pth'
    with pytest.raises(SystemExit):
        train.parse_args(['cfg.py', '--launcher', 'ssh'])


def test_test_parse_args() -> None:
    test = load_tool('test')
    args = test.parse_args(
        ['cfg.py', 'ckpt.pth', '--cfg-options', 'a.b=1', '--out', 'preds']
    )
    assert (args.config, args.checkpoint, args.out) == ('cfg.py', 'ckpt.pth', 'preds')
    assert args.cfg_options == {'a.b': 1}
    assert args.work_dir is None
    assert not args.tta and test.parse_args(['cfg.py', 'ckpt.pth', '--tta']).tta


def test_use_tta_wraps_the_model() -> None:
    from mmengine.config import Config

    test = load_tool('test')
    cfg = Config(
        dict(
            model=dict(type='M'),
            test_dataloader=dict(dataset=dict(pipeline=['plain'])),
            tta_model=dict(type='CRFSegTTAModel'),
            tta_pipeline=['multi-scale'],
        )
    )
    test.use_tta(cfg)
    assert cfg.model == dict(type='CRFSegTTAModel', module=dict(type='M'))
    assert cfg.test_dataloader.dataset.pipeline == ['multi-scale']
    with pytest.raises(KeyError, match='tta_pipeline and tta_model'):
        test.use_tta(Config(dict(model=dict(type='M'))))


def test_set_output_dir_rejects_unknown_evaluator() -> None:
    test = load_tool('test')
    metrics = [dict(type='A'), dict(type='B')]
    test.set_output_dir(metrics, 'preds')
    assert [m['output_dir'] for m in metrics] == ['preds', 'preds']
    with pytest.raises(TypeError, match='test_evaluator'):
        test.set_output_dir(['IoUMetric'], 'preds')


def test_amp_needs_plain_optim_wrapper() -> None:
    from mmengine.config import Config

    train = load_tool('train')
    cfg = Config(dict(optim_wrapper=dict(type='OptimWrapper', optimizer={})))
    train.enable_amp(cfg)
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    cfg = Config(dict(optim_wrapper=dict(type='ApexOptimWrapper', optimizer={})))
    with pytest.raises(ValueError, match='ApexOptimWrapper'):
        train.enable_amp(cfg)


def test_auto_scale_lr_needs_the_base_batch() -> None:
    from mmengine.config import Config

    train = load_tool('train')
    cfg = Config(dict(auto_scale_lr=dict(enable=False, base_batch_size=16)))
    train.enable_auto_scale_lr(cfg)
    assert cfg.auto_scale_lr == dict(enable=True, base_batch_size=16)
    with pytest.raises(KeyError, match='base_batch_size'):
        train.enable_auto_scale_lr(Config(dict(optim_wrapper=dict())))


def test_train_resume_and_test_end_to_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    config = tmp_path / 'toy_regression.py'
    config.write_text(CONFIG)
    train, test = load_tool('train'), load_tool('test')

    # Default work dir: ./work_dirs/<config stem>; --cfg-options shortens the run.
    # Distinct experiment names: runs within one second would share mmengine's
    # named logger / message hub instances otherwise.
    train.main(
        [str(config), '--cfg-options', 'train_cfg.max_iters=2', 'experiment_name=a']
    )
    work_dir = tmp_path / 'work_dirs' / 'toy_regression'
    assert (work_dir / 'iter_2.pth').is_file()
    assert not (work_dir / 'iter_4.pth').exists()

    # --resume picks the latest checkpoint of the work dir and trains to 4;
    # iterations 1-2 are not run again, so iter_2.pth is not rewritten.
    first_half = (work_dir / 'iter_2.pth').stat().st_mtime_ns
    train.main([str(config), '--resume', '--cfg-options', 'experiment_name=b'])
    resumed = load_from_local_safe(str(work_dir / 'iter_4.pth'))
    assert resumed['meta']['iter'] == 4
    assert (work_dir / 'iter_2.pth').stat().st_mtime_ns == first_half

    out_dir = tmp_path / 'preds'
    test.main(
        [
            str(config),
            str(work_dir / 'iter_4.pth'),
            '--work-dir',
            str(tmp_path / 'test_dir'),
            '--out',
            str(out_dir),
            '--cfg-options',
            'experiment_name=c',
        ]
    )
    assert (tmp_path / 'test_dir').is_dir()
    mse = json.loads((out_dir / 'mse.json').read_text())['mse']
    weight = resumed['state_dict']['linear.weight']  # [1, 2]
    bias = resumed['state_dict']['linear.bias']  # [1]
    samples = [EntryPointToyDataset()[i] for i in range(4)]
    errors = [
        float((s['inputs'] @ weight.T + bias - s['targets']) ** 2) for s in samples
    ]
    assert mse == pytest.approx(np.mean(errors), rel=1e-5)


def free_port() -> int:
    """Return a TCP port that is free right now on localhost."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


@pytest.mark.slow
@pytest.mark.skipif(torch.cuda.is_available(), reason='one GPU per process there')
def test_dist_train_two_cpu_processes(tmp_path: Path) -> None:
    """dist_train.sh with 2 processes on a CPU-only machine.

    dist_test.sh shares the launcher code path; it is left out to keep the file
    fast (each process imports the whole OpenMMLab stack).
    """
    config = tmp_path / 'toy_regression.py'
    # The subprocesses register the toy components by importing this module.
    config.write_text(CONFIG + "custom_imports = dict(imports=['test_entrypoints'])\n")
    env = dict(os.environ, PYTHON=sys.executable, PORT=str(free_port()))
    env['PYTHONPATH'] = os.pathsep.join(
        p for p in (str(Path(__file__).parent), env.get('PYTHONPATH')) if p
    )
    work_dir = tmp_path / 'work_dir'
    train = subprocess.run(
        ['bash', str(TOOLS / 'dist_train.sh'), str(config), '2']
        + ['--work-dir', str(work_dir), '--cfg-options', 'train_cfg.max_iters=2'],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert train.returncode == 0, train.stdout[-3000:] + train.stderr[-3000:]
    log = train.stdout + train.stderr
    assert 'Distributed training: True' in log
    assert 'GPU number: 2' in log  # mmengine's name for the world size
    checkpoint = load_from_local_safe(str(work_dir / 'iter_2.pth'))
    assert checkpoint['meta']['iter'] == 2
