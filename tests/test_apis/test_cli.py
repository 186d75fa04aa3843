"""The shared command-line helpers of ``densenas_mm.apis.cli``."""
import shlex
import sys

import pytest

import densenas_mm  # noqa: F401
from densenas_mm.apis.cli import command_line, parse_cfg_options


def test_command_line_quotes_what_a_shell_would_split():
    line = command_line('tools/benchmark/budget_front.py',
                        ['cfg.py', '--budgets', '5.5', '6.5',
                         '--work-dir', 'my runs/a'])
    assert line == ("python tools/benchmark/budget_front.py cfg.py "
                    "--budgets 5.5 6.5 --work-dir 'my runs/a'")
    # pasted back into a shell, the same words come out
    assert shlex.split(line)[2:] == ['cfg.py', '--budgets', '5.5', '6.5',
                                     '--work-dir', 'my runs/a']


def test_command_line_reads_sys_argv_without_argv(monkeypatch):
    monkeypatch.setattr(sys, 'argv', ['/abs/path/tool.py', '--x', '1'])
    assert command_line('tools/x.py') == 'python tools/x.py --x 1'
    assert command_line('tools/x.py', []) == 'python tools/x.py'


def test_parse_cfg_options_types_and_errors():
    assert parse_cfg_options([]) is None
    got = parse_cfg_options(['a.b=1', 'c=[x,y]', 'd=0.5'])
    assert got == {'a.b': 1, 'c': ['x', 'y'], 'd': 0.5}
    with pytest.raises(ValueError, match="key=value, got \\['oops'\\]"):
        parse_cfg_options(['oops'])
