"""The audit: LUT prediction vs measurement of a derived net."""
import re
from pathlib import Path

import pytest

import densenas_mm  # noqa: F401
from densenas_mm.apis.latency_audit import audit_arch, format_audit
from densenas_mm.latency import (LatencyTableError, LatencyTableWarning,
                                 build_latency_table)
from helpers.tools import load_tool
from densenas_mm.structures import DerivedArch, DerivedBlock

REPO = Path(__file__).resolve().parents[2]
DEMO_CFG = REPO / 'configs/_base_/search_spaces/densenas_demo_32.py'
TIMING = dict(warmup=1, min_repeats=2, max_repeats=2)
ROUNDS = dict(TIMING, rounds=2, extra_rounds=1)
# the paper's table converted to the keyed format, shipped with the project
REF_LUT = REPO / 'resources/latency/densenas_mbv2_224_ref_b32.json'


def demo_arch():
    """A net on the demo space's path 0-1-2-4-6-terminal."""
    return DerivedArch(
        family='mbv2',
        stem_channels=8,
        stem_ops=['mbconv_k3_t1'],
        input_size=32,
        num_classes=10,
        last_dim=128,
        space='densenas_demo_32',
        blocks=[
            DerivedBlock(8, 12, 'mbconv_k3_t6', ['mbconv_k5_t3'], 1, 1, 0),
            DerivedBlock(12, 16, 'mbconv_k5_t3', [], 2, 2, 1),
            DerivedBlock(16, 32, 'mbconv_k3_t3', ['mbconv_k3_t3'], 2, 4, 2),
            DerivedBlock(32, 64, 'mbconv_k3_t6', [], 1, 6, 4),
        ])


@pytest.fixture(scope='module')
def demo_table():
    from mmengine.config import Config
    space = Config.fromfile(str(DEMO_CFG)).search_space
    return build_latency_table(
        space, batch_size=2, progress=False, rounds=2, **TIMING)[0]


def test_audit_rows(demo_table):
    rows = audit_arch(demo_arch(), demo_table, **ROUNDS)
    names = [r.name for r in rows]
    assert names == [
        'stem', 'block1_node1', 'block2_node2', 'block3_node4', 'block4_node6',
        'terminal', 'classifier', 'sum of parts', 'whole net'
    ]
    block1 = [
        e['latency'] for k, e in demo_table.entries.items()
        if k.startswith(('mbconv_k3_t6|c8-12|', 'mbconv_k5_t3|c12-12|'))
    ]
    assert rows[1].predicted == pytest.approx(sum(block1))
    assert rows[-2].predicted == pytest.approx(
        sum(r.predicted for r in rows[:-2]))
    assert rows[-1].predicted == rows[-2].predicted
    assert all(r.measured > 0 for r in rows)
    # every measured row has its rounds and their noise; the sum has none
    for row in rows[:-2] + rows[-1:]:
        assert len(row.rounds) >= 2 and row.noise is not None
    assert rows[-2].noise is None and rows[-2].rounds == []
    assert rows[-2].measured == pytest.approx(
        sum(r.measured for r in rows[:-2]))
    text = format_audit(rows)
    assert 'whole net' in text and 'noise' in text and '%' in text


def test_audit_needs_every_entry(demo_table):
    arch = demo_arch()
    arch.blocks[-1].head_op = 'mbconv_k7_t6'  # not a demo op
    with pytest.raises(
            LatencyTableError,
            match=re.escape('mbconv_k7_t6|c32-64|s1|r4x4|b2|')):
        audit_arch(arch, demo_table, **ROUNDS)


def test_command_line_densenas_c_with_reference_table(tmp_path, capsys):
    lut = REF_LUT
    tool = load_tool('analysis/latency_audit.py')
    out = tmp_path / 'audit.json'
    with pytest.warns(LatencyTableWarning) as record:
        assert tool.main([
            '--densenas-c', '--lut',
            str(lut), '--num-classes', '100', '--batch-size', '1', '--warmup',
            '0', '--min-repeats', '1', '--max-repeats', '1', '--rounds', '1',
            '--json',
            str(out)
        ]) == 0
    messages = ' '.join(str(w.message) for w in record)
    assert "measured on 'TITAN-Xp (reference table)'" in messages
    assert 'batch size 32 but is used for batch size 1' in messages
    text = capsys.readouterr().out
    assert 'whole net' in text and '17.977' in text
    arch_file = tmp_path / 'arch.yaml'
    demo_arch().dump(str(arch_file))
    from densenas_mm.apis.latency_check import load_audit_arch
    args = tool.parse_args([str(arch_file), '--lut', str(lut)])
    assert load_audit_arch(args.arch).blocks[0].node == 1


def test_rows_carry_their_noise():
    from densenas_mm.apis.latency_audit import AuditRow
    close = AuditRow('stem', 1.1, 1.0, 0.06, [1.0, 0.95, 1.05])
    far = AuditRow('block1_node1', 1.3, 1.0, 0.06, [1.0, 0.95, 1.05])
    assert close.rel_error == pytest.approx(0.1) and close.within_noise
    assert far.rel_error == pytest.approx(0.3) and not far.within_noise
    total = AuditRow('sum of parts', 2.4, 2.0)
    assert total.noise is None and not total.within_noise
    lines = format_audit([close, far, total]).splitlines()
    assert lines[1].split() == [
        'stem', '1.100', '1.000', '6.0%', '+10.0%', '*'
    ]
    assert lines[2].split() == [
        'block1_node1', '1.300', '1.000', '6.0%', '+30.0%'
    ]
    assert lines[4].split()[-2:] == ['-', '+20.0%']


def test_audit_clock_follows_the_table_where_it_can(monkeypatch):
    """The table's clock, unless it cannot time the audit's device: a GPU
    table's 'cuda' clock audited on the CPU, a CPU table's 'thread' clock
    on CUDA (then the device's own 'auto' clock)."""
    import torch

    from densenas_mm.apis.latency_audit import _clock_like
    from densenas_mm.latency import LatencyTable
    monkeypatch.setattr(torch, 'get_num_threads', lambda: 1)

    def table(clock):
        return LatencyTable(
            dict(
                device='d',
                batch_size=1,
                dtype='float32',
                memory_format='contiguous',
                unit='ms',
                clock=clock))

    assert _clock_like(table('cuda'), None, 'cpu') == 'thread'
    assert _clock_like(table('thread'), None, 'cuda:1') == 'cuda'
    assert _clock_like(table('cuda'), None, 'cuda:1') == 'cuda'
    assert _clock_like(table('wall'), None, 'cuda') == 'wall'
    assert _clock_like(table('wall'), None, 'cpu') == 'wall'
    assert _clock_like(table('cuda'), 'wall', 'cpu') == 'wall'
