"""The package's import graph: no cycle, layers import one way.

Built from the AST of every module of ``densenas_mm/`` (imports inside
functions count, as they bind the modules as firmly as top-level ones).
Layers, lowest first (a module may import its own layer and lower ones):

0. ``densenas_mm`` itself, ``version``, ``compat``, ``registry``, ``utils``
1. ``search_space``, ``datasets``
2. ``structures``
3. ``latency``, ``visualization``
4. ``models``
5. ``engine``
6. ``apis``
7. ``utils.setup_env`` (registers everything; nothing imports it)
8. ``experiments`` (runs over the whole stack; knows the repository layout)
"""
import ast
import os
from typing import Dict, List, Set

import pytest

from helpers import REPO_ROOT
from helpers.tools import run_python

PACKAGE = 'densenas_mm'
LAYERS = [
    ('densenas_mm.experiments', 8),
    ('densenas_mm.utils.setup_env', 7),
    ('densenas_mm.apis', 6),
    ('densenas_mm.engine', 5),
    ('densenas_mm.models', 4),
    ('densenas_mm.latency', 3),
    ('densenas_mm.visualization', 3),
    ('densenas_mm.structures', 2),
    ('densenas_mm.search_space', 1),
    ('densenas_mm.datasets', 1),
    ('densenas_mm.utils', 0),
    ('densenas_mm.registry', 0),
    ('densenas_mm.compat', 0),
    ('densenas_mm.version', 0),
    ('densenas_mm', 0),
]


def modules() -> Dict[str, str]:
    """Module name -> file of every module in the package."""
    root = os.path.join(REPO_ROOT, PACKAGE)
    found = {}
    for folder, _, files in os.walk(root):
        for name in files:
            if name.endswith('.py'):
                path = os.path.join(folder, name)
                rel = os.path.relpath(path, REPO_ROOT)[:-3].replace(
                    os.sep, '.')
                found[rel[:-len('.__init__')] if rel.endswith('.__init__')
                      else rel] = path
    return found


def imported(module: str, path: str, known: Set[str]) -> Set[str]:
    """Package modules ``module`` imports (``from a import b`` may name a
    module ``a.b`` or an attribute of ``a``: both are tried)."""
    is_pkg = path.endswith('__init__.py')
    out = set()
    with open(path, encoding='utf-8') as f:
        tree = ast.parse(f.read())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = module.split('.')
                base = parts if is_pkg else parts[:-1]
                base = base[:len(base) - node.level + 1]
                prefix = '.'.join(base + ([node.module] if node.module
                                          else []))
            else:
                prefix = node.module or ''
            names = [prefix] + [f'{prefix}.{a.name}' for a in node.names]
        else:
            continue
        out.update(n for n in names if n in known and n != module)
    return out


def graph() -> Dict[str, Set[str]]:
    mods = modules()
    return {m: imported(m, p, set(mods)) for m, p in mods.items()}


def layer(module: str) -> int:
    for prefix, rank in LAYERS:
        if module == prefix or module.startswith(prefix + '.'):
            return rank
    raise AssertionError(f'{module} belongs to no layer; add it to LAYERS')


def cycles(edges: Dict[str, Set[str]]) -> List[List[str]]:
    """Strongly connected components with more than one module."""
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    on_stack: Set[str] = set()
    found: List[List[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_the_graph_is_read():
    edges = graph()
    assert len(edges) > 60
    # spot checks of the reader itself
    assert 'densenas_mm.search_space.grammar' in edges[
        'densenas_mm.search_space.ops']
    assert 'densenas_mm.structures' in edges[
        'densenas_mm.models.mutators.dense_routing_mutator']


def test_no_import_cycle():
    assert cycles(graph()) == []


def test_cycle_finder_finds_a_planted_cycle():
    edges = {'a': {'b'}, 'b': {'c'}, 'c': {'a'}, 'd': {'a'}}
    assert cycles(edges) == [['a', 'b', 'c']]


def test_layers_import_downward_only():
    wrong = [(m, t) for m, targets in graph().items() for t in targets
             if layer(t) > layer(m)]
    assert wrong == []


def test_setup_env_is_imported_by_nobody():
    users = [m for m, targets in graph().items()
             if 'densenas_mm.utils.setup_env' in targets]
    assert users == []


@pytest.mark.parametrize('target', [
    'densenas_mm', 'densenas_mm.search_space', 'densenas_mm.structures',
    'densenas_mm.latency'
])
def test_light_imports_load_no_heavy_layer(target):
    """Importing a low layer loads neither mmcls, mmrazor nor the model,
    engine or apis layers."""
    heavy = ['mmcls', 'mmrazor', 'densenas_mm.models', 'densenas_mm.engine',
             'densenas_mm.apis']
    code = (f'import sys, {target}; '
            f'print([m for m in {heavy!r} if m in sys.modules])')
    assert run_python(code).strip().splitlines()[-1] == '[]'
