"""Shared test helpers."""

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
