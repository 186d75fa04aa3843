"""One naming rule for latency-table files: builder, demo script, config."""
import os
import subprocess
import sys

from mmengine.config import Config

from densenas_mm.latency import table_path
from helpers import REPO_ROOT
from helpers.tools import load_tool

DEMO_SPACE = 'configs/_base_/search_spaces/densenas_demo_32.py'
DEMO_SEARCH = 'configs/densenas/densenas_supernet-demo_1xb32-20e_digits.py'


def test_the_rule():
    assert table_path('densenas_demo_32', 'cpu', 32, threads=1) == \
        'work_dirs/latency/densenas_demo_32_cpu_b32_t1.json'
    assert table_path('s', 'cpu', 8) == 'work_dirs/latency/s_cpu_b8.json'
    assert table_path('s', 'cpu', 8, 2, 'bfloat16', True) == \
        'work_dirs/latency/s_cpu_b8_t2_bfloat16_cl.json'
    # threads name CPU tables only; imported tables are 'ref'
    assert table_path('densenas_mbv2_224', 'ref', 32, threads=4) == \
        'work_dirs/latency/densenas_mbv2_224_ref_b32.json'


def test_builder_default_is_the_rule(capsys):
    tool = load_tool('build_latency_lut.py')
    assert tool.main([
        DEMO_SPACE, '--device', 'cpu', '--threads', '1', '--print-path'
    ]) == 0
    assert capsys.readouterr().out.strip() == table_path(
        'densenas_demo_32', 'cpu', 32, threads=1)


def _demo_lut(threads: str) -> str:
    """DEMO_LUT as tools/demo.sh sets it (its own lines, run by bash)."""
    script = ('set -euo pipefail; cd "$REPO"; '
              'eval "$(sed -n \'/^WORK_DIR=/,/--print-path)}$/p\' '
              'tools/demo.sh)"; echo "$DEMO_LUT"')
    env = dict(os.environ, REPO=REPO_ROOT, PYTHON=sys.executable,
               DEMO_THREADS=threads)
    env.pop('DEMO_LUT', None)
    out = subprocess.run(['bash', '-c', script], capture_output=True,
                         text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.strip().splitlines()[-1]


def test_demo_script_and_demo_config_use_the_rule():
    lut = Config.fromfile(os.path.join(REPO_ROOT, DEMO_SEARCH)).lut_file
    assert lut == 'work_dirs/latency/densenas_demo_32_cpu_b32_t1.json'
    assert _demo_lut('1') == lut  # the demo's default: one thread
    assert _demo_lut('2') == table_path('densenas_demo_32', 'cpu', 32, 2)
