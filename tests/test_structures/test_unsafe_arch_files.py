"""Architecture files that try to run code, are huge or nest deeply.

Every route the docs name for reading an architecture file (``DerivedArch.
load``, the ``DenseNASNet`` backbone, ``load_fix_subnet_dict`` ->
mmrazor's ``sub_model`` / ``load_fix_subnet``, mmengine's loader after the
opt-in ``use_safe_yaml_in_mmengine``, ``tools/analysis/plot_arch.py``)
refuses a file with a ``!!python/object/apply:os.system`` entry, at the
top level and inside an entry, and the command never runs (a marker file
it would create stays absent). Oversized and 50,000-deep files are refused
with a message, without a ``RecursionError``; so are deep latency tables
and damaged ``topk.json`` / ``history.json`` files.
"""
# densenas_mm first: its compat fixes must precede any mmrazor import.
import densenas_mm  # noqa: F401  # isort: skip

import copy
import json
import os.path as osp
import re

import pytest
import yaml
from mmengine.fileio import load as mmengine_load
from mmengine.fileio.handlers import file_handlers
from mmengine.registry import DefaultScope
from mmrazor.registry import MODELS as MMRAZOR_MODELS
from mmrazor.registry import sub_model
from mmrazor.structures import load_fix_subnet

from densenas_mm.apis.cli import run_cli
from densenas_mm.engine.hooks.arch_hook import read_topk
from densenas_mm.latency.table import LatencyTable, LatencyTableError
from densenas_mm.models.backbones import DenseNASNet
from densenas_mm.search_space import SpaceGraph, load_preset
from densenas_mm.structures import (ArchError, DerivedArch, derive_arch,
                                    load_fix_subnet_dict)
from densenas_mm.utils.safe_read import (MAX_YAML_BYTES, YamlFileError,
                                         read_yaml_file,
                                         use_safe_yaml_in_mmengine)
from densenas_mm.visualization import read_history

from helpers import REPO_ROOT
from helpers.estimators import synthetic_table
from helpers.search import demo_cfg
from helpers.tools import load_tool

SEARCH_CFG = osp.join(REPO_ROOT, 'configs/densenas/'
                      'densenas_supernet-demo_1xb32-20e_digits.py')
PATH = [0, 1, 2, 4, 6, 7]


def _arch_text() -> str:
    space = load_preset('densenas_demo_32')
    arch = derive_arch(space, SpaceGraph(space), {}, path=PATH)
    return yaml.safe_dump(arch.to_dict(), sort_keys=False)


def _evil_files(folder, marker):
    """An architecture file with a tagged extra entry, and one whose entry
    holds the tag."""
    command = f'!!python/object/apply:os.system ["touch {marker}"]'
    text = _arch_text()
    top = folder / 'top.yaml'
    top.write_text(text + f'evil: {command}\n')
    inner = folder / 'inner.yaml'
    lines = text.splitlines()
    i = next(k for k, ln in enumerate(lines)
             if ln[:1].isalnum() and not ln.startswith('densenas_arch'))
    assert lines[i + 1].startswith('  chosen: ')
    lines[i + 1] = f'  chosen: {command}'
    inner.write_text('\n'.join(lines) + '\n')
    return [str(top), str(inner)]


@pytest.fixture
def evil(tmp_path):
    marker = tmp_path / 'RAN'
    return _evil_files(tmp_path, marker), marker


def test_plain_file_reads_and_tags_are_refused_by_every_route(
        evil, monkeypatch, capsys):
    files, marker = evil
    # the unedited text is a valid architecture (the edits are the problem)
    plain = marker.parent / 'plain.yaml'
    plain.write_text(_arch_text())
    assert DerivedArch.load(str(plain)).path == PATH
    arch_cfg = demo_cfg().model.architecture
    with DefaultScope.overwrite_default_scope('mmrazor'):
        supernet = MMRAZOR_MODELS.build(copy.deepcopy(arch_cfg))
    # opt-in only: importing densenas_mm left mmengine's handler alone
    assert type(file_handlers['yaml']).__name__ == 'YamlHandler'
    for name in ('yaml', 'yml'):
        monkeypatch.setitem(file_handlers, name, file_handlers[name])
    use_safe_yaml_in_mmengine()
    assert type(file_handlers['yaml']).__name__ == 'SafeYamlHandler'
    assert mmengine_load(str(plain)) == yaml.safe_load(_arch_text())
    for path in files:
        routes = [
            lambda: DerivedArch.load(path),
            lambda: DenseNASNet(arch=path),
            lambda: load_fix_subnet_dict(path),
            lambda: read_yaml_file(path),
            lambda: mmengine_load(path),
        ]
        for route in routes:
            with pytest.raises(ValueError, match='not plain YAML') as err:
                route()
            assert 'python/object/apply' in str(err.value)
            assert path in str(err.value) or 'mmengine' in str(err.value)
        with DefaultScope.overwrite_default_scope('mmrazor'):
            with pytest.raises(ValueError, match='not plain YAML'):
                sub_model(copy.deepcopy(arch_cfg), fix_subnet=path)
            with pytest.raises(ValueError, match='not plain YAML'):
                load_fix_subnet(supernet, path)
        plot = load_tool('analysis/plot_arch.py')
        status = run_cli(lambda: plot.main(
            [SEARCH_CFG, '--arch', path, '--out-dir',
             str(marker.parent / 'plots')]))
        err_lines = [ln for ln in capsys.readouterr().err.splitlines()
                     if ln.startswith('error: ')]
        assert status == 1 and len(err_lines) == 1
        assert 'not plain YAML' in err_lines[0]
    assert not marker.exists()


def test_size_limit_names_file_size_and_limit(tmp_path):
    path = tmp_path / 'big.yaml'
    text = _arch_text()
    # one long meta string, as in the report (60 MB there; 9 MiB here)
    path.write_text(text.replace('  meta: {}', '  meta:\n    note: ' + 'x' *
                                 (9 * 2**20)))
    size = path.stat().st_size
    assert size > MAX_YAML_BYTES
    with pytest.raises(ArchError) as err:
        DerivedArch.load(str(path))
    msg = str(err.value)
    assert str(path) in msg and f'({size} bytes)' in msg
    assert f'limit of {MAX_YAML_BYTES} bytes' in msg
    with pytest.raises(YamlFileError, match='limit of 100 bytes'):
        read_yaml_file(str(path), max_bytes=100)
    # within a raised limit it is read
    data = read_yaml_file(str(path), max_bytes=size)
    assert len(data['densenas_arch']['meta']['note']) == 9 * 2**20


@pytest.mark.parametrize('style', ['flow', 'block', 'mapping'])
def test_deep_nesting_is_refused_without_recursion(tmp_path, style, capsys):
    n = 50000
    text = {
        'flow': 'meta: ' + '[' * n + ']' * n + '\n',
        'block': 'meta:\n' + ''.join(' ' * (2 * k + 2) + '-\n'
                                     for k in range(200)),
        'mapping': ''.join(' ' * k + 'a:\n' for k in range(200)) + ' ' * 200 +
        '1\n',
    }[style]
    path = tmp_path / 'deep.yaml'
    path.write_text(text)
    with pytest.raises(ArchError, match='nested more than 64 levels') as err:
        DerivedArch.load(str(path))
    assert str(path) in str(err.value)
    plot = load_tool('analysis/plot_arch.py')
    status = run_cli(lambda: plot.main(
        [SEARCH_CFG, '--arch', str(path), '--out-dir', str(tmp_path)]))
    err_lines = [ln for ln in capsys.readouterr().err.splitlines()
                 if ln.startswith('error: ')]
    assert status == 1 and len(err_lines) == 1
    assert 'nested more than 64 levels' in err_lines[0]


def test_deep_latency_table_is_refused(tmp_path):
    """A valid table whose one entry is a 50,000-deep list."""
    path = tmp_path / 'table.json'
    synthetic_table(load_preset('densenas_demo_32')).save(str(path))
    data = json.loads(path.read_text())
    key = next(iter(data['entries']))
    data['entries'][key] = 'DEEP'
    path.write_text(json.dumps(data).replace('"DEEP"',
                                             '[' * 50000 + ']' * 50000))
    # json's C parser reads it or stops at the interpreter's recursion
    # limit: either way one LatencyTableError naming the file
    with pytest.raises(LatencyTableError,
                       match='nested too deeply|' +
                       re.escape(f'{key!r}: must be a dict')
                       ) as err:
        LatencyTable.load(str(path))
    assert str(path) in str(err.value)


@pytest.mark.parametrize('content,problem', [
    ('{"kept": [{"epoch": 3, "sc', 'not valid JSON'),
    ('', 'not valid JSON'),
    ('{"kept": [{"epoch": "x", "score": 1}]}', 'is damaged: it is not'),
    ('[' * 50000 + ']' * 50000, 'nested too deeply|is damaged: it is not'),
])
def test_damaged_topk_names_file_and_fix(tmp_path, content, problem):
    path = tmp_path / 'topk.json'
    path.write_text(content)
    with pytest.raises(ValueError) as err:
        read_topk(str(path))
    msg = str(err.value)
    assert re.search(problem, msg) and str(path) in msg
    assert 'delete it' in msg
    path.write_text(json.dumps(dict(kept=[dict(epoch=3, score=0.5)])))
    assert [(c.epoch, c.score) for c in read_topk(str(path))] == [(3, 0.5)]


@pytest.mark.parametrize('content,problem', [
    ('[{"epoch": 1, "phase": "warm', 'not valid JSON'),
    ('{"epoch": 1}', 'not a search history'),
])
def test_damaged_history_names_file_and_fix(tmp_path, content, problem):
    path = tmp_path / 'history.json'
    path.write_text(content)
    with pytest.raises(ValueError) as err:
        read_history(str(path), fix='Delete it.')
    msg = str(err.value)
    assert problem in msg and str(path) in msg and 'Delete it.' in msg
