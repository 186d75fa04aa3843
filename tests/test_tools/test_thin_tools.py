"""Every tool's ``main`` is thin: it parses arguments and calls one function
of the library (issue 20, item 6); the logic lives in importable functions."""
import ast
from pathlib import Path
from typing import Dict, List, Set

import pytest

REPO = Path(__file__).resolve().parents[2]
TOOLS = sorted(p for p in (REPO / 'tools').rglob('*.py'))
# argument parsing and printing a job's result, allowed next to the one job
# call: apis.cli's helpers (and its process setup for benchmarks) and a
# job's ``format_*`` (its result as text)
HELPERS = {
    'add_cfg_options', 'add_launcher', 'add_round_args', 'add_shape',
    'round_settings', 'input_shape', 'run_cli', 'emit', 'print_and_save',
    'parse_cfg_options', 'one_thread_per_run', 'command_line'
}
MAX_STATEMENTS = 8


def _library_names(tree: ast.Module) -> Set[str]:
    """Names bound by ``from densenas_mm... import`` anywhere in the tool."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or '').startswith(
                'densenas_mm'):
            names.update(a.asname or a.name for a in node.names)
    return names


def _main(tree: ast.Module) -> ast.FunctionDef:
    mains = [
        n for n in tree.body
        if isinstance(n, ast.FunctionDef) and n.name == 'main'
    ]
    assert len(mains) == 1, 'a tool defines one top-level main'
    return mains[0]


def _library_calls(main: ast.FunctionDef, names: Set[str]) -> List[str]:
    calls = []
    for node in ast.walk(main):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id in names and node.func.id not in HELPERS \
                and not node.func.id.startswith('format_'):
            calls.append(node.func.id)
    return calls


def thin_problems(source: str) -> List[str]:
    """What makes a tool's ``main`` more than "parse, call one function"."""
    tree = ast.parse(source)
    main = _main(tree)
    problems = []
    loops = (ast.For, ast.While, ast.AsyncFor, ast.ListComp, ast.SetComp,
             ast.DictComp, ast.GeneratorExp)
    for node in ast.walk(main):
        if isinstance(node, loops):
            problems.append(f'a loop at line {node.lineno}')
        if isinstance(node, (ast.If, ast.Try, ast.With)):
            problems.append(f'a branch / block at line {node.lineno}')
    statements = sum(isinstance(n, ast.stmt) for n in ast.walk(main)) - 1
    if statements > MAX_STATEMENTS:
        problems.append(f'{statements} statements (at most {MAX_STATEMENTS})')
    calls = _library_calls(main, _library_names(tree))
    if len(calls) > 1:
        problems.append(f'{len(calls)} calls into densenas_mm: {calls}')
    return problems


def helper_problems(source: str) -> List[str]:
    """A tool's other functions map arguments: they neither loop nor
    print (the logic must not move from ``main`` into a tool-local
    function)."""
    problems = []
    for fn in ast.parse(source).body:
        if not isinstance(fn, ast.FunctionDef) or fn.name == 'main':
            continue
        for node in ast.walk(fn):
            if isinstance(node, (ast.For, ast.While)):
                problems.append(f'{fn.name}: a loop at line {node.lineno}')
            if isinstance(node, ast.Call) and isinstance(
                    node.func, ast.Name) and node.func.id == 'print':
                problems.append(f'{fn.name}: a print at line {node.lineno}')
    return problems


@pytest.mark.parametrize(
    'path', TOOLS, ids=[str(p.relative_to(REPO / 'tools')) for p in TOOLS])
def test_tool_main_is_thin(path):
    source = path.read_text(encoding='utf-8')
    problems = thin_problems(source) + helper_problems(source)
    assert not problems, f'{path.relative_to(REPO)}: main is not thin: ' \
        f'{problems}; move the logic into a function of densenas_mm.apis ' \
        '(library jobs) or densenas_mm.experiments (benchmarks)'


def test_the_check_finds_fat_mains():
    fat = ('from densenas_mm.x import a, b\n'
           'def main(argv=None):\n'
           '    args = parse_args(argv)\n'
           '    for k in a(args):\n'
           '        b(k)\n')
    problems = thin_problems(fat)
    assert len(problems) == 2
    assert problems[0] == 'a loop at line 4'
    assert problems[1] == "2 calls into densenas_mm: ['a', 'b']"
    thin: Dict[str, str] = {
        'thin': ('from densenas_mm.x import a\n'
                 'from densenas_mm.apis.cli import emit\n'
                 'def main(argv=None):\n'
                 '    args = parse_args(argv)\n'
                 '    return emit(a(**vars(args)))\n')
    }
    assert thin_problems(thin['thin']) == []
    hidden = ('def _run(args):\n'
              '    for k in args.keys:\n'
              '        print(k)\n')
    assert helper_problems(hidden) == [
        '_run: a loop at line 2', '_run: a print at line 3'
    ]
