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
8. ``experiments`` (benchmarks, search quality, demo summary; nothing
   imports it, and only it may know the repository layout)
"""
import ast
import os
import re
from typing import Dict, List, Optional, Set

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


def test_experiments_are_imported_by_nobody_outside():
    users = [m for m, targets in graph().items()
             if not m.startswith('densenas_mm.experiments')
             and any(t.startswith('densenas_mm.experiments')
                     for t in targets)]
    assert users == []


# what only the experiments layer may do: compute a path above the package
# or name the checkout's tools/ and resources/ folders
_PATH_LIKE = re.compile(r'^(tools|resources)(/\S*)?$')


def _dirname_depth(node: ast.AST) -> Optional[int]:
    """How many nested ``dirname`` calls wrap an expression using
    ``__file__`` (None: not such an expression)."""
    depth = 0
    while (isinstance(node, ast.Call) and node.args and getattr(
            node.func, 'attr', getattr(node.func, 'id', None)) == 'dirname'):
        depth += 1
        node = node.args[0]
    if depth and any(isinstance(n, ast.Name) and n.id == '__file__'
                     for n in ast.walk(node)):
        return depth
    return None


def layout_references(path: str, root: str = REPO_ROOT) -> List[str]:
    """Code in ``path`` that depends on the repository layout: a
    ``dirname`` chain on ``__file__`` that climbs above ``densenas_mm/``, a
    ``REPO_ROOT``, or a path string naming ``tools`` / ``resources``
    (messages and docstrings, which contain spaces, do not count)."""
    with open(path, encoding='utf-8') as f:
        tree = ast.parse(f.read())
    # dirname of the file itself = depth 1; the package dir sits this deep
    to_package = len(os.path.relpath(path, root).split(os.sep)) - 1
    found = []
    for node in ast.walk(tree):
        depth = _dirname_depth(node)
        if depth is not None and depth > to_package:
            found.append(f'line {node.lineno}: dirname x{depth} of __file__')
        if isinstance(node, ast.Name) and node.id == 'REPO_ROOT':
            found.append(f'line {node.lineno}: REPO_ROOT')
        if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                and _PATH_LIKE.match(node.value)):
            found.append(f'line {node.lineno}: {node.value!r}')
    return found


def test_layout_scan_finds_planted_references(tmp_path):
    pkg = tmp_path / 'densenas_mm' / 'sub'
    pkg.mkdir(parents=True)
    bad = pkg / 'bad.py'
    bad.write_text(
        'import os.path as osp\n'
        'ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))'
        '\nPKG = osp.dirname(osp.dirname(osp.abspath(__file__)))\n'
        "T = osp.join(ROOT, 'tools', 'train.py')\n"
        "R = 'resources/latency'\n"
        "MSG = 'build it with tools/build_latency_lut.py'\n")
    found = layout_references(str(bad), str(tmp_path))
    assert sorted(found) == ["line 2: dirname x3 of __file__",
                             "line 4: 'tools'", "line 5: 'resources/latency'"]


def test_only_experiments_know_the_repository_layout():
    wrong = {
        m: refs
        for m, p in modules().items()
        if not m.startswith('densenas_mm.experiments')
        for refs in [layout_references(p)] if refs
    }
    assert wrong == {}
    # the experiments do know it (the scan sees what it looks for)
    assert layout_references(
        os.path.join(REPO_ROOT, PACKAGE, 'experiments', 'paths.py'))
