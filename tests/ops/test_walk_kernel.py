"""The compiled walk kernel caches in a per-user folder, never in the package."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from mmwsss.ops import _walk_kernel
from mmwsss.ops.random_walk import random_walk

numba = pytest.importorskip('numba')

PACKAGE = Path(_walk_kernel.__file__).resolve().parents[1]
ROOT = PACKAGE.parent


def _cache_files(folder: Path) -> dict[str, int]:
    """numba's index (.nbi) and data (.nbc) files under ``folder``, with mtimes."""
    return {
        str(p): p.stat().st_mtime_ns
        for suffix in ('*.nbi', '*.nbc')
        for p in folder.rglob(suffix)
    }


@pytest.fixture
def user_cache(tmp_path, monkeypatch):
    """An empty ``XDG_CACHE_HOME``, no ``NUMBA_CACHE_DIR``, the kernel uncompiled."""
    monkeypatch.delenv('NUMBA_CACHE_DIR', raising=False)
    monkeypatch.setattr(numba.config, 'CACHE_DIR', '')
    monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path / 'xdg'))
    monkeypatch.setattr(_walk_kernel, '_compiled', None)
    return tmp_path / 'xdg' / 'mmwsss' / 'numba'


def test_cache_dir_choice(user_cache, tmp_path, monkeypatch):
    assert _walk_kernel.cache_dir() == str(user_cache)
    assert user_cache.is_dir()
    monkeypatch.setenv('NUMBA_CACHE_DIR', str(tmp_path / 'numba_cache'))
    assert _walk_kernel.cache_dir() == str(tmp_path / 'numba_cache')
    # a folder that cannot be made (its parent is a file): no cache at all
    (tmp_path / 'file').write_text('')
    monkeypatch.setenv('NUMBA_CACHE_DIR', str(tmp_path / 'file' / 'cache'))
    assert _walk_kernel.cache_dir() is None


@pytest.mark.slow
def test_compiled_kernel_caches_outside_the_package(user_cache):
    before = _cache_files(PACKAGE)
    gen = torch.Generator().manual_seed(3)
    aff = torch.rand(34, 9, 6, generator=gen)  # radius 5
    x = torch.rand(2, 9, 6, generator=gen)
    compiled = random_walk(x, aff, 5, 10.0, backend='numba')
    assert torch.allclose(compiled, random_walk(x, aff, 5, 10.0, backend='torch'))
    assert _cache_files(user_cache)  # index and compiled code
    assert _cache_files(PACKAGE) == before
    assert numba.config.CACHE_DIR == ''  # other numba functions keep theirs

    # a fresh process loads the kernel from that cache instead of compiling it
    script = (
        'import numpy as np; from mmwsss.ops import _walk_kernel as k; '
        'm = np.ones((1, 3, 3), np.float32); w = np.ones((1, 3, 3), np.float32); '
        'k.run_steps(m, w, [(0, 0)], 0, 1, 1e-30); '
        'print(sum(k._compiled.stats.cache_hits.values()))'
    )
    env = dict(os.environ, XDG_CACHE_HOME=str(user_cache.parents[1]))
    env.pop('NUMBA_CACHE_DIR', None)
    proc = subprocess.run(
        [sys.executable, '-c', script],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert int(proc.stdout.split()[-1]) >= 1
    assert _cache_files(PACKAGE) == before
