"""The demo's summary table (densenas_mm.apis.demo_summary) and its tool."""
import json
import os
import os.path as osp

import pytest
import yaml

from densenas_mm.apis.demo_summary import collect, format_table
from helpers.tools import load_tool


def _write(path, data):
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        if path.endswith('.yaml'):
            yaml.safe_dump(data, f)
        else:
            json.dump(data, f)


def test_summary_table_from_inputs(tmp_path):
    wd = str(tmp_path)
    _write(osp.join(wd, 'arch.yaml'), dict(densenas_arch=dict(
        path=[0, 1, 3, 7], net_config="[[8, 8], 'x']", meta=dict(
            latency=9.0))))
    _write(osp.join(wd, 'arch_test', 'metrics.json'),
           {'accuracy/top1': 91.25, 'accuracy/top5': 99.0})
    _write(osp.join(wd, 'arch_audit.json'), [
        dict(part='stem', predicted_ms=1.0, measured_ms=1.1, std_ms=0.1,
             rel_error=0.1),
        dict(part='whole net', predicted_ms=4.5, measured_ms=5.0,
             std_ms=0.2, rel_error=-0.1)])
    _write(osp.join(wd, 'arch_flops.json'), dict(macs=1_234_000,
                                                 params=34_500))
    _write(osp.join(wd, 'random_test', 'metrics.json'),
           {'accuracy/top1': 80.5, 'accuracy/top5': 98.0})
    _write(osp.join(wd, 'search', 'vis', 'history.json'), [
        dict(epoch=1, phase='warmup', path=[0, 1, 3, 7], val_top1=20.0),
        dict(epoch=2, phase='search', path=[0, 2, 3, 7], val_top1=60.0,
             expected_latency=4.0),
        dict(epoch=3, phase='search', path=[0, 1, 3, 7])])
    _write(osp.join(wd, 'timing.json'), dict(search=100.0, total=300.0))

    summary = collect(wd)
    arch, rand = summary['nets']
    assert arch['top1'] == 91.25 and rand['top1'] == 80.5
    assert arch['lut_latency_ms'] == 4.5  # the audit's whole-net row wins
    assert arch['measured_latency_ms'] == 5.0
    assert arch['macs_M'] == pytest.approx(1.234)
    assert arch['params_M'] == pytest.approx(0.0345)
    assert 'macs_M' not in rand and rand.get('path') is None
    assert summary['search']['warmup_epochs'] == 1
    assert summary['search']['supernet_val_top1_last'] == 60.0

    text = format_table(summary)
    lines = text.splitlines()
    assert lines[0].split()[:2] == ['net', 'path']
    row = lines[2]
    assert row.startswith('searched')
    for value in ('4.50', '5.00', '1.23', '0.0345', '91.25'):
        assert value in row
    assert '80.50' in lines[3] and lines[3].count(' - ') >= 3
    assert 'derived path changed 2 times' in text
    assert 'total 300' in text

    assert load_tool('analysis/demo_summary.py').main([wd]) == 0
    saved = json.load(open(osp.join(wd, 'summary.json')))
    assert saved['nets'][0]['top1'] == 91.25
    assert open(osp.join(wd, 'summary.txt')).read() == text
