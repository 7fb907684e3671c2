"""Shared test helpers."""

import copy
import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

TOOLS = Path(__file__).resolve().parents[1] / 'tools'


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
