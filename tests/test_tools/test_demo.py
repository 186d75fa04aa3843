"""An end-to-end run of tools/demo.sh (reduced schedule)."""
import json
import os.path as osp
import subprocess

import pytest

from helpers import REPO_ROOT as ROOT


@pytest.mark.slow
def test_demo_end_to_end_reduced(tmp_path, tool_env):
    """tools/demo.sh with 2 search epochs (1 warm-up), two random nets and 1
    retrain epoch, on the digits (the fallback data, present everywhere;
    the Fashion-MNIST dataset has its own tests)."""
    env = dict(tool_env)
    wd = tmp_path / 'demo'
    env.update(
        WORK_DIR=str(wd),
        DEMO_DATA='digits',
        DEMO_RANDOM='2',
        DEMO_SEARCH_EPOCHS='2',
        DEMO_WARMUP_EPOCHS='1',
        DEMO_RETRAIN_EPOCHS='1',
        DEMO_LUT=str(tmp_path / 'lut.json'),
        # --max-noisy 1: a reduced run must not depend on the machine's load
        DEMO_LUT_ARGS='--max-repeats 5 --max-seconds 0.05 --max-noisy 1 '
        '--no-progress',
        DEMO_AUDIT_ARGS='--max-repeats 5')
    proc = subprocess.run(['bash', osp.join(ROOT, 'tools', 'demo.sh')],
                          cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    summary = json.load(open(wd / 'summary.json'))
    searched, rand0, rand1 = summary['nets']
    assert (searched['net'], rand0['net'], rand1['net']) == (
        'searched', 'random 0', 'random 1')
    comp = summary['comparison']
    assert comp['searched'] == [searched['top1']] and comp['of'] == 3
    assert comp['random'] == [rand0['top1'], rand1['top1']]
    assert summary['dataset'].startswith('digits')
    for row in (searched, rand0, rand1):
        assert 0.0 <= row['top1'] <= 100.0
        assert row['measured_latency_ms'] > 0 and row['lut_latency_ms'] > 0
        assert row['macs_M'] > 0 and row['params_M'] > 0
        assert row['path'][0] == 0
    assert summary['search']['epochs'] == 2
    assert summary['search']['warmup_epochs'] == 1
    assert set(summary['timing_s']) >= {'search', 'lut', 'total'}
    for name in ('supernet.png', 'alphas.png', 'betas.png', 'curves.png'):
        assert (wd / 'plots' / name).stat().st_size > 0
        if name != 'curves.png':
            assert (wd / 'search' / 'vis' / name).stat().st_size > 0
    # one search, many budgets: 5 nets within their budgets, not retrained
    budgets = summary['budgets']
    assert budgets['unit'] == 'ms' and len(budgets['budgets']) == 5
    for row in budgets['budgets']:
        assert row['cost'] <= row['budget'] and row['path'][0] == 0
        assert (wd / 'budgets' / row['arch']).is_file()
    assert (wd / 'budgets' / 'front.png').stat().st_size > 0
    text = (wd / 'summary.txt').read_text()
    assert 'one search, many budgets' in text
    assert text.startswith('data: digits')
    assert 'rank of the searched net' in text
