"""Every command line tool reports bad input as ONE ``error:`` line and exit
status 1, not a traceback (issue 25: latency_audit, search_space_info,
build_latency_lut, import_reference_lut, export_onnx, the Fashion-MNIST
reader, and the config checks of train.py / test.py).

Each case runs the tool as a subprocess, exactly as a user would, and
asserts stderr holds exactly one line starting with ``error:``, no
``Traceback`` and the fragments that name the problem.
"""
import os
import os.path as osp
import shutil
import subprocess
import sys
from typing import Dict, List

import pytest

from helpers import REPO_ROOT

SEARCH_CFG = 'configs/densenas/densenas_supernet-demo_1xb32-20e_digits.py'
BASELINE_CFG = 'configs/baseline/mobilenet-v2_w0.5_1xb32-2e_digits.py'
FMNIST_SUBNET_CFG = ('configs/densenas/subnets/'
                     'densenas_subnet-demo_1xb32-12e_fmnist.py')
REF_TABLE = 'resources/latency/densenas_mbv2_224_ref_b32.json'


def run_tool(args: List[str], env: Dict[str, str] = None,
             timeout: int = 600) -> subprocess.CompletedProcess:
    """``python ARGS`` at the repository root, this checkout first on the
    path."""
    full_env = dict(os.environ, PYTHONPATH=REPO_ROOT, **(env or {}))
    return subprocess.run([sys.executable] + args,
                          capture_output=True,
                          text=True,
                          cwd=REPO_ROOT,
                          env=full_env,
                          timeout=timeout)


def assert_one_error_line(out: subprocess.CompletedProcess,
                          *fragments: str) -> str:
    """The one ``error:`` line of a failed run (checked to hold
    ``fragments``)."""
    assert out.returncode == 1, (out.returncode, out.stderr[-3000:])
    errors = [
        line for line in out.stderr.splitlines() if line.startswith('error')
    ]
    assert len(errors) == 1, out.stderr[-3000:]
    assert 'Traceback' not in out.stderr, out.stderr[-3000:]
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
    return errors[0]


@pytest.fixture(scope='module')
def files(tmp_path_factory):
    """A folder, a garbage file, broken Fashion-MNIST idx files, an arch
    file of the demo space, a config with a syntax error."""
    from densenas_mm.search_space import SpaceGraph, load_preset
    from densenas_mm.structures import derive_arch
    root = tmp_path_factory.mktemp('bad')
    folder = root / 'folder'
    folder.mkdir()
    garbage = root / 'garbage.txt'
    garbage.write_text('this is not a list\n')
    fmnist = root / 'fmnist'
    fmnist.mkdir()
    for name in ('train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz',
                 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'):
        (fmnist / name).write_bytes(b'\x1f\x8b broken')
    space = load_preset('densenas_demo_32')
    arch = str(root / 'arch.yaml')
    derive_arch(space, SpaceGraph(space), {},
                path=[0, 1, 2, 4, 6, 7]).dump(arch)
    syntax = root / 'syntax.py'
    syntax.write_text(f'_base_ = [{osp.join(REPO_ROOT, BASELINE_CFG)!r}]\n'
                      'model = dict(\n')
    work_file = root / 'work_file'
    work_file.write_text('')
    return dict(folder=str(folder), garbage=str(garbage), fmnist=str(fmnist),
                arch=arch, syntax=str(syntax), work_file=str(work_file),
                root=str(root))


#: (id, argv with {placeholders} from ``files``, error fragments)
CASES = [
    ('latency_audit_arch_dir',
     ['tools/analysis/latency_audit.py', '{folder}', '--lut', REF_TABLE],
     ['architecture file', 'is a directory, expected a .yaml/.json file']),
    ('latency_audit_table_dir',
     ['tools/analysis/latency_audit.py', '{arch}', '--lut', '{folder}'],
     ['latency table', 'is a directory, expected a .json file']),
    ('search_space_info_missing',
     ['tools/analysis/search_space_info.py', '{root}/missing.py'],
     ['config file', 'missing.py', 'does not exist']),
    ('search_space_info_not_a_config',
     ['tools/analysis/search_space_info.py', '{garbage}'],
     ['is not a config file: expected one of .py, .yml, .yaml, .json']),
    ('build_latency_lut_config_dir',
     ['tools/build_latency_lut.py', '{folder}', '--out', '{root}/t.json'],
     ['is a directory, expected a .py config file']),
    ('import_reference_lut_garbage',
     ['tools/analysis/import_reference_lut.py', '{garbage}', '--out',
      '{root}/ref.json'], ['not a literal nested list']),
    ('export_onnx_bad_checkpoint',
     ['tools/deployment/export_onnx.py', BASELINE_CFG, '{garbage}', '--out',
      '{root}/m.onnx'], ['checkpoint', 'garbage.txt']),
    ('train_config_syntax_error', ['tools/train.py', '{syntax}'],
     ['syntax error in config', 'syntax.py:2', 'was never closed']),
    ('train_work_dir_is_a_file',
     ['tools/train.py', BASELINE_CFG, '--work-dir', '{work_file}'],
     ['--work-dir', 'is an existing file']),
]


@pytest.mark.parametrize(
    'argv, fragments', [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_tool_prints_one_error_line(files, argv, fragments):
    out = run_tool([a.format(**files) for a in argv])
    assert_one_error_line(out, *fragments)


def test_lut_build_into_a_table_of_another_setting(tmp_path):
    """An existing --out table measured at batch 32: a batch-8 build into
    it is one error line naming the difference, and the table is kept."""
    out = tmp_path / 'demo.json'
    shutil.copy(osp.join(REPO_ROOT, 'docs/records/demo_lut_epyc_t1.json'),
                out)
    before = out.read_bytes()
    result = run_tool(['tools/build_latency_lut.py',
                       'configs/_base_/search_spaces/densenas_demo_32.py',
                       '--batch-size', '8', '--threads', '1', '--out',
                       str(out), '--no-progress'])
    assert_one_error_line(result, 'exists but was measured with another '
                          'setting', 'batch', 'pass another --out')
    assert out.read_bytes() == before


def test_fashion_mnist_reader_prints_one_error_line(files):
    """Broken idx files: one line naming the file (an IdxError is a
    DataError), raised when the retrain builds its loader."""
    out = run_tool([
        'tools/train.py', FMNIST_SUBNET_CFG, '--work-dir',
        osp.join(files['root'], 'fm'), '--cfg-options',
        f'model.backbone.arch={files["arch"]}'
    ], env=dict(DENSENAS_FMNIST=files['fmnist']))
    assert_one_error_line(out, 'train-images-idx3-ubyte.gz',
                          'truncated or corrupt')
