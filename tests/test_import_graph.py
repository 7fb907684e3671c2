"""No import cycle anywhere in mmwsss/, function-level imports included.

The graph is read statically (``ast``) from every module's source: an edge per
``import mmwsss.x`` / ``from .x import y`` / ``from . import x`` wherever it
stands (module level, inside a function or an ``if``). ``from pkg import name``
counts as an import of ``pkg.name`` when that is a module, else of ``pkg``.
"""

import ast
import os.path as osp
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / 'mmwsss'


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix('').parts)
    if parts[-1] == '__init__':
        parts.pop()
    return '.'.join(parts)


def modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob('*.py'))}


def _absolute(module: str, is_package: bool, level: int, name: str | None) -> str:
    """The absolute name of a relative import ``from {'.' * level}{name}``."""
    base = module.split('.') if is_package else module.split('.')[:-1]
    base = base[: len(base) - (level - 1)] if level > 1 else base
    return '.'.join([*base, name] if name else base)


def import_graph(found: dict[str, Path]) -> dict[str, set[str]]:
    """``{module: {mmwsss modules it imports}}``."""
    graph = {}
    for module, path in found.items():
        edges = set()
        is_package = path.name == '__init__.py'
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                source = (
                    _absolute(module, is_package, node.level, node.module)
                    if node.level
                    else node.module or ''
                )
                targets = [
                    f'{source}.{alias.name}'
                    if f'{source}.{alias.name}' in found
                    else source
                    for alias in node.names
                ]
            else:
                continue
            edges.update(t for t in targets if t in found and t != module)
        graph[module] = edges
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` as a list of modules, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for child in sorted(graph[node]):
            if state.get(child) == 1:
                return path[path.index(child) :] + [child]
            if child not in state and (cycle := visit(child)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_checker_finds_a_cycle_and_resolves_relative_imports():
    assert find_cycle({'a': {'b'}, 'b': {'c'}, 'c': {'a'}}) == ['a', 'b', 'c', 'a']
    assert find_cycle({'a': {'b'}, 'b': set(), 'c': {'a', 'b'}}) is None
    assert _absolute('mmwsss.pipeline.stages.base', False, 2, 'context') == (
        'mmwsss.pipeline.context'
    )
    assert _absolute('mmwsss.pipeline', True, 1, 'runner') == 'mmwsss.pipeline.runner'
    graph = import_graph(modules())
    # a function-level import counts (the walk benchmark stage imports lazily
    # nothing; the report's mmseg / mmdet imports are outside mmwsss)
    assert 'mmwsss.pipeline.context' in graph['mmwsss.pipeline.stages.base']
    assert 'mmwsss.pipeline.stages.base' in graph['mmwsss.pipeline.runner']


def test_no_import_cycle_in_mmwsss():
    graph = import_graph(modules())
    assert len(graph) > 50, sorted(graph)
    cycle = find_cycle(graph)
    if cycle:
        pytest.fail('import cycle: ' + ' -> '.join(cycle))


def test_report_and_stages_do_not_import_the_runner():
    graph = import_graph(modules())
    for module, edges in graph.items():
        if module.startswith('mmwsss.pipeline.stages') or module.endswith('.report'):
            assert 'mmwsss.pipeline.runner' not in edges, module
    stage_files = [
        osp.basename(m) for m in modules() if m.startswith('mmwsss.pipeline.stages.')
    ]
    assert len(stage_files) >= 12
