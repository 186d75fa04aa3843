"""An end-to-end run of tools/demo.sh (reduced schedule)."""
import json
from pathlib import Path

import pytest


@pytest.mark.slow
def test_demo_end_to_end_reduced(reduced_demo):
    """tools/demo.sh with 2 search epochs (1 warm-up), two random nets and 1
    retrain epoch, on the digits (the fallback data, present everywhere;
    the Fashion-MNIST dataset has its own tests): the session's reduced demo
    (``tests/helpers/doc_runs.py: REDUCED_DEMO``), which the documents'
    ``make demo`` commands reuse."""
    work_dir, proc, _ = reduced_demo
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    wd = Path(work_dir)
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
