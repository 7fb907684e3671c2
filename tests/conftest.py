"""Shared test helpers and session fixtures.

Session fixtures made once per test session and shared by every test that
asks for them (read-only: a test that writes copies first, e.g. with
``shutil.copytree``; each fixture checks at the end of the session that its
files are unchanged):

- ``tiny_fashionpaste``: the tiny FashionPaste set (seed 0);
- ``tiny_cam``: a CAM classifier trained on it and its exported seeds.
"""

import copy
import hashlib
import importlib.util
import os
from pathlib import Path
from types import ModuleType
from typing import NamedTuple

import pytest

REPO = Path(__file__).resolve().parents[1]
TOOLS = REPO / 'tools'

#: The config ``tiny_cam`` starts from (the FashionPaste CAM classifier).
TINY_CAM_CONFIG = REPO / 'configs/cam/cam_effl0_1xb16-8e_fashionpaste-160.py'
#: Training epochs of ``tiny_cam`` (2 iterations of batch 4 each).
TINY_CAM_EPOCHS = 3


def tree_digest(*paths) -> str:
    """SHA-1 of the relative names and bytes of every file under ``paths``
    (files or folders): equal digests, unchanged files."""
    sha = hashlib.sha1()
    for top in paths:
        top = Path(top)
        files = [top] if top.is_file() else sorted(p for p in top.rglob('*'))
        for path in files:
            if path.is_file():
                sha.update(str(path.relative_to(top.parent)).encode() + b'\0')
                sha.update(path.read_bytes())
    return sha.hexdigest()


@pytest.fixture(scope='session')
def import_tool():
    """``import_tool(name)`` imports ``tools/<name>.py`` (tools/ is no package)."""

    def _import(name: str) -> ModuleType:
        path = TOOLS / f'{name}.py'
        spec = importlib.util.spec_from_file_location(f'tools_{name}', path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    return _import


@pytest.fixture(autouse=True)
def _isolated_default_scope():
    """Each test sees the default scopes as they were before it ran.

    A Runner makes its config's ``default_scope`` (e.g. the toy configs'
    'mmengine') the process's current one and never removes it, so a later
    test that builds ``dict(type='AffinityNet')`` from mmseg's registry would be
    sent to another toolbox's (as ``DefaultScope.overwrite_default_scope``
    does, the instances are put back afterwards).
    """
    from mmengine.registry import DefaultScope

    saved = copy.copy(DefaultScope._instance_dict)
    yield
    DefaultScope._instance_dict = saved


@pytest.fixture(scope='session')
def tiny_fashionpaste(tmp_path_factory):
    """The tiny FashionPaste set, generated once per session:
    ``generate_fashionpaste(root, size='tiny', seed=0, source='subset')``,
    8 train and 4 val images of 64 x 64 (train all-background floor 6.68 mIoU,
    val 8.46). Tests that need another seed or size generate their own.

    Read-only: copy it before writing into it (the session fails at its end if
    a file under it changed).

    Returns:
        str: The absolute data root (``.../tiny_fashionpaste0/data``).
    """
    from mmwsss.datasets.fashionpaste import generate_fashionpaste

    root = tmp_path_factory.mktemp('tiny_fashionpaste') / 'data'
    generate_fashionpaste(root, size='tiny', seed=0, source='subset', progress=False)
    before = tree_digest(root)
    yield str(root)
    assert tree_digest(root) == before, f'a test changed the shared {root}'


class TinyCAM(NamedTuple):
    """What the ``tiny_cam`` fixture returns (all paths absolute, read-only)."""

    #: The ``tiny_fashionpaste`` root it was trained and tested on.
    data_root: str
    #: The config file it was trained and tested with (``Config.fromfile`` it;
    #: set ``work_dir`` and ``load_from=checkpoint`` to test it again).
    config: str
    #: The Runner's work dir.
    work_dir: str
    #: The trained weights, ``{work_dir}/epoch_3.pth`` (a Runner checkpoint:
    #: load it under ``mmwsss.utils.safe_checkpoint_loader()``).
    checkpoint: str
    #: The exported seeds, ``{work_dir}/cams``: one ``{image id}.npz`` per train
    #: image (``keys``, ``cam`` 16 x 16, ``high_res`` 64 x 64) and
    #: ``provenance.json``.
    cam_dir: str
    #: ``runner.test()``'s seed metrics on train (``seed/mIoU``,
    #: ``seed/mIoU_best``, ``seed/best_bg_score``).
    metrics: dict


@pytest.fixture(scope='session')
def tiny_cam(tiny_fashionpaste, tmp_path_factory):
    """A CAM classifier trained once per session on ``tiny_fashionpaste``, and
    its seeds exported on the train split.

    ``TINY_CAM_CONFIG`` from the ImageNet weights, trained at 64 x 64 (the
    images' size, not 160) for ``TINY_CAM_EPOCHS`` epochs of batch 4, validated
    once at the end, then tested (exported) at scales (1.0, 0.5) with flips.
    It plumbs, it does not localise: eight images teach no localisation (its
    seeds score about the all-background floor: 6.0 seed mIoU, 7.9 at the best
    background score, floor 6.7), so tests that hold CAMs to a quality bound
    fabricate them from the ground truth.

    Returns:
        TinyCAM: ``data_root``, ``config``, ``work_dir``, ``checkpoint``,
        ``cam_dir`` and ``metrics`` (see :class:`TinyCAM`).
    """
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    from mmengine.runner import Runner

    import mmwsss  # noqa: F401

    work_dir = tmp_path_factory.mktemp('tiny_cam')
    cfg = Config.fromfile(str(TINY_CAM_CONFIG))
    cfg.work_dir = str(work_dir)
    cfg.model.backbone.pretrained = True
    cfg.model.data_preprocessor.size = (64, 64)
    cfg.model.test_cfg.scales = (1.0, 0.5)
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg[name]
        loader.dataset.data_root = tiny_fashionpaste
        loader.num_workers = 0
        loader.persistent_workers = False
    cfg.train_dataloader.batch_size = 4
    for step in cfg.train_dataloader.dataset.pipeline:
        if step.type == 'RandomResize':
            step.scale = (64, 64)
        elif step.type == 'RandomCrop':
            step.crop_size = (64, 64)
    cfg.train_cfg.max_epochs = TINY_CAM_EPOCHS
    cfg.train_cfg.val_interval = TINY_CAM_EPOCHS
    cfg.param_scheduler[0].end = TINY_CAM_EPOCHS
    cfg.default_hooks.checkpoint.interval = TINY_CAM_EPOCHS
    config = str(work_dir / 'tiny_cam.py')
    cfg.dump(config)

    saved_scopes = copy.copy(DefaultScope._instance_dict)
    try:
        runner = Runner.from_cfg(Config.fromfile(config))
        runner.train()
        metrics = runner.test()
    finally:
        DefaultScope._instance_dict = saved_scopes
    cam = TinyCAM(
        data_root=tiny_fashionpaste,
        config=config,
        work_dir=str(work_dir),
        checkpoint=str(work_dir / f'epoch_{TINY_CAM_EPOCHS}.pth'),
        cam_dir=str(work_dir / 'cams'),
        metrics=dict(metrics),
    )
    assert os.path.isfile(cam.checkpoint) and os.path.isdir(cam.cam_dir)
    before = tree_digest(cam.config, cam.checkpoint, cam.cam_dir)
    yield cam
    after = tree_digest(cam.config, cam.checkpoint, cam.cam_dir)
    assert after == before, f'a test changed the shared {work_dir}'
