"""README and docs name paths that exist and commands that parse.

Every path in README.md, docs/*.md, configs/densenas/README.md and
resources/latency/README.md either exists in the repository or lies under
a folder a documented step writes (a work dir of a documented train / test
command, an ``--out`` / ``--out-dir`` / ``--work-dir`` / ``--json``, the
demo's and the latency builder's folders, or the ImageNet copy README asks
the user to provide). Every documented command that runs a tool parses
with that tool's own argument parser, and every ``make`` target exists.

Every shell block is marked ``run`` or ``check`` (``tests/helpers/docs.py``);
the configs of the ``check`` commands load with their ``--cfg-options``
and every tool they call answers ``--help``. The ``run`` commands run in
``tests/test_docs_run.py``.
"""
import argparse
import contextlib
import inspect
import io
import json
import os.path as osp
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from helpers import REPO_ROOT
from helpers.docs import (MARKS, OUTPUT_DIRS, REPO_DIRS, REPO_FILES,
                          SHELL_LANGS, USER_INPUTS, commands, documents,
                          is_placeholder, links_in, paths_in, tool_call,
                          written_by)
from helpers.tools import load_tool

DOCS = documents()
COMMANDS = [c for d in DOCS for c in commands(d)]


def _produced():
    return {p for c in COMMANDS for p in written_by(c)}


def test_the_extraction_finds_what_it_should():
    assert len(DOCS) >= 8
    assert len(COMMANDS) > 40
    readme = next(d for d in DOCS if d.rel == 'README.md')
    assert 'configs/densenas/densenas_supernet-mbv2_4xb88-150e_in100.py' in \
        paths_in(readme.text)
    assert 'docs/design.md' in links_in(readme)
    produced = _produced()
    assert 'work_dirs/densenas_supernet-mbv2_4xb88-150e_in100' in produced
    assert 'data/imagenet/meta/imagenet100' in produced
    assert is_placeholder('work_dirs/NAME/epoch_80.pth')
    assert not is_placeholder('work_dirs/demo/search/arch/best.yaml')


def _path_problem(path, produced):
    if path.startswith(('../', 'shared/', '/')):
        return 'outside the project (a user who clones it has no such path)'
    top = path.split('/')[0]
    if top in REPO_DIRS or path in REPO_FILES:
        return None if osp.exists(osp.join(REPO_ROOT, path)) else \
            'does not exist'
    if top in OUTPUT_DIRS:
        if any(path == p or path.startswith(p + '/')
               for p in produced | set(USER_INPUTS)):
            return None
        return 'no documented step writes it'
    return None


def test_every_path_exists_or_is_written_by_a_documented_step():
    produced = _produced()
    problems = []
    for doc in DOCS:
        for path in sorted(set(paths_in(doc.text))):
            if is_placeholder(path):
                continue
            why = _path_problem(path, produced)
            if why:
                problems.append(f'{doc.rel}: {path}: {why}')
        for target in links_in(doc):
            if not osp.exists(osp.join(REPO_ROOT, target)):
                problems.append(f'{doc.rel}: link {target}: does not exist')
    assert problems == []


def _parse(tool: str, args):
    module = load_tool(tool[len('tools/'):])
    if not hasattr(module, 'parse_args'):
        return None
    takes_argv = bool(inspect.signature(module.parse_args).parameters)
    old = sys.argv
    sys.argv = [tool] + list(args)
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            module.parse_args(list(args)) if takes_argv else \
                module.parse_args()
    except SystemExit:
        return err.getvalue().strip().splitlines()[-1]
    finally:
        sys.argv = old
    return None


def test_every_documented_command_parses(monkeypatch):
    monkeypatch.setenv('LOCAL_RANK', '0')
    with open(osp.join(REPO_ROOT, 'Makefile'), encoding='utf-8') as f:
        targets = set(re.findall(r'^([\w-]+):', f.read(), re.M))
    problems, parsed = [], 0
    for cmd in COMMANDS:
        if cmd.argv[0] == 'make':
            missing = [t for t in cmd.argv[1:]
                       if '=' not in t and t not in targets]
            if missing:
                problems.append(f'{cmd.doc}: {cmd.text}: no make target '
                                f'{missing}')
            continue
        if cmd.argv[0] == 'bash' and not osp.isfile(
                osp.join(REPO_ROOT, cmd.argv[1])):
            problems.append(f'{cmd.doc}: {cmd.text}: no script')
            continue
        call = tool_call(cmd)
        if call is None:
            continue
        tool, args = call
        if not osp.isfile(osp.join(REPO_ROOT, tool)):
            problems.append(f'{cmd.doc}: {cmd.text}: no tool {tool}')
            continue
        if any(a.startswith('[') or a == '...' for a in args):
            continue  # a usage line, not a command
        error = _parse(tool, args)
        parsed += 1
        if error:
            problems.append(f'{cmd.doc}: {cmd.text}: {error}')
    assert problems == []
    assert parsed > 30


def test_every_shell_block_is_marked():
    problems = [p for doc in DOCS for p in doc.mark_problems()]
    assert problems == []
    blocks = [b for d in DOCS for b in d.blocks() if b.lang in SHELL_LANGS]
    assert len(blocks) > 50
    assert {b.mark for b in blocks} == set(MARKS)
    assert {c.mark for c in COMMANDS} == set(MARKS)


def test_an_unmarked_block_is_named_with_its_line():
    from helpers.docs import Doc
    doc = Doc(osp.join(REPO_ROOT, 'x.md'),
              'text\n```bash\nmake demo\n```\n\n```\nout\n```\n'
              '```bash run\nmake demo\n```\n```sh later\nls\n```\n')
    problems = doc.mark_problems()
    assert len(problems) == 3
    assert problems[0].startswith("x.md:2: shell block marked None")
    assert problems[1].startswith('x.md:6: a fence without a language')
    assert problems[2].startswith("x.md:12: shell block marked 'later'")
    cmd = next(commands(doc))
    assert (cmd.where, cmd.mark) == ('x.md:3', None)


CHECKED = [c for c in COMMANDS if c.mark == 'check' and tool_call(c)]


def _cfg_options(args):
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_known_args(args)[0].cfg_options


def test_check_commands_load_their_configs():
    """Each config a ``check`` command names loads with its
    ``--cfg-options``, as ``tools/train.py`` would merge and derive them."""
    from densenas_mm.apis.model_io import load_config
    problems, loaded, seen = [], 0, set()
    for cmd in CHECKED:
        _, args = tool_call(cmd)
        configs = [
            a for a in args if a.startswith('configs/') and
            a.endswith('.py') and not is_placeholder(a)
        ]
        options = _cfg_options(args)
        for config in configs:
            if (config, repr(options)) in seen:
                continue
            seen.add((config, repr(options)))
            try:
                cfg = load_config(osp.join(REPO_ROOT, config), options)
            except Exception as err:  # noqa: B902 (report every one)
                problems.append(f'{cmd.where}: {config}: '
                                f'{type(err).__name__}: {err}')
                continue
            loaded += 1
            for key, value in (options or {}).items():
                node = cfg
                for part in key.split('.'):
                    node = node[int(part)] if part.isdigit() else node[part]
                assert node == value, (cmd.where, key)
    assert problems == []
    assert loaded >= 15


# Runs each tool file given as an argument as ``python <tool> --help`` does
# (as ``__main__``, its folder first on sys.path), in one interpreter so that
# torch and mmengine are imported once; prints {tool: [exit code, whether
# stdout has a usage, its end]}.
_HELP_EACH = r"""
import contextlib, io, json, os.path, runpy, sys
found = {}
for tool in sys.argv[1:]:
    out, code = io.StringIO(), None
    sys.argv, sys.path[0] = [tool, '--help'], os.path.dirname(tool)
    try:
        with contextlib.redirect_stdout(out):
            runpy.run_path(tool, run_name='__main__')
    except SystemExit as stop:
        code = stop.code
    except Exception as err:
        code = f'{type(err).__name__}: {err}'
    text = out.getvalue()
    found[tool] = [code, 'usage:' in text, text[-300:]]
print(json.dumps(found))
"""


@pytest.mark.slow
def test_every_tool_of_a_check_command_answers_help():
    """Every distinct tool run as a script with ``--help`` (two
    interpreters, the machine's cores) exits 0 with a usage."""
    tools = sorted({tool_call(c)[0] for c in CHECKED})
    assert len(tools) >= 15

    def helps(part):
        proc = subprocess.run([sys.executable, '-c', _HELP_EACH, *part],
                              cwd=REPO_ROOT, capture_output=True, text=True,
                              timeout=600)
        assert proc.returncode == 0, proc.stderr[-2000:]
        return json.loads(proc.stdout.strip().splitlines()[-1])

    with ThreadPoolExecutor(max_workers=2) as pool:
        found = {}
        for part in pool.map(helps, [tools[0::2], tools[1::2]]):
            found.update(part)
    assert sorted(found) == tools
    problems = [f'{tool} --help: exit {code}: {end.strip()}'
                for tool, (code, usage, end) in found.items()
                if code not in (0, None) or not usage]
    assert problems == []
