"""The latency-table builder: coverage, resume, the command line."""
import os
from pathlib import Path

import pytest
import torch

import densenas_mm  # noqa: F401
from densenas_mm.latency import LatencyTable, build_latency_table, space_ops
from densenas_mm.latency import builder as builder_mod
from densenas_mm.search_space import search_space_from_cfg
from helpers.tools import load_tool

REPO = Path(__file__).resolve().parents[2]
DEMO_CFG = REPO / 'configs/_base_/search_spaces/densenas_demo_32.py'
TINY_TIMING = dict(warmup=1, min_repeats=2, max_repeats=2, progress=False)


def demo_space():
    return search_space_from_cfg(str(DEMO_CFG))


def test_cpu_build_covers_every_needed_key(tmp_path):
    space = demo_space()
    out = tmp_path / 'demo.json'
    table, report = build_latency_table(
        space, 'cpu', batch_size=2, out=str(out), **TINY_TIMING)
    needed = space_ops(space, batch_size=2).unique()
    assert report.needed == len(needed) == 46 and report.measured == 46
    loaded = LatencyTable.load(str(out))
    loaded.require(needed, 'the demo space')  # raises if anything lacks
    assert loaded.complete and not os.path.exists(f'{out}.partial')
    for entry in loaded.entries.values():
        assert entry['mean'] > 0 and entry['count'] == 2
    meta = loaded.metadata
    assert meta['device_type'] == 'cpu' and meta['batch_size'] == 2
    assert meta['torch'] == torch.__version__ and meta['warmup'] == 1
    assert meta['spaces'] == ['densenas_demo_32']
    assert meta['input_sizes'] == [32]


def counting(calls, fail_after=None):

    def measure(sig, device, act, **timing):
        if fail_after is not None and len(calls) >= fail_after:
            raise KeyboardInterrupt('simulated interruption')
        calls.append(sig.key)
        return 1.0 + len(calls), 0.01, 3

    return measure


def test_interrupted_build_resumes(tmp_path):
    space, out = demo_space(), str(tmp_path / 'demo.json')
    first = []
    with pytest.raises(KeyboardInterrupt):
        build_latency_table(
            space,
            out=out,
            checkpoint_every=4,
            measure=counting(first, fail_after=17),
            **TINY_TIMING)
    assert len(first) == 17 and not os.path.exists(out)
    partial = LatencyTable.load(out + '.partial')
    assert not partial.complete and len(partial) == 17
    second = []
    table, report = build_latency_table(
        space, out=out, measure=counting(second), **TINY_TIMING)
    assert len(second) == 46 - 17 and report.reused == 17
    assert not set(first) & set(second)
    assert len(table) == 46 and not os.path.exists(out + '.partial')
    third = []
    _, report = build_latency_table(
        space, out=out, measure=counting(third), **TINY_TIMING)
    assert third == [] and report.reused == 46
    # Another setting never silently mixes with the existing table.
    with pytest.raises(ValueError, match='another setting'):
        build_latency_table(
            space, out=out, batch_size=8, measure=counting([]), **TINY_TIMING)


def test_periodic_checkpoint_is_written(tmp_path, monkeypatch):
    space, out = demo_space(), str(tmp_path / 'demo.json')
    seen = []
    real_save = LatencyTable.save

    def spy(self, path):
        seen.append((path, len(self)))
        real_save(self, path)

    monkeypatch.setattr(LatencyTable, 'save', spy)
    build_latency_table(
        space,
        out=out,
        checkpoint_every=10,
        measure=counting([]),
        **TINY_TIMING)
    partial_sizes = [n for p, n in seen if p.endswith('.partial')]
    assert partial_sizes == [10, 20, 30, 40]
    assert seen[-1] == (out, 46)


def test_noisy_entries_are_reported(tmp_path):

    def noisy(sig, device, act, **timing):
        return 1.0, 5.0, 2

    _, report = build_latency_table(
        demo_space(), measure=noisy, rel_std=0.05, **TINY_TIMING)
    assert len(report.noisy) == 46 and report.noisy[0][4] > 0.05


def test_command_line_builds_and_resumes(tmp_path, monkeypatch, capsys):
    tool = load_tool('build_latency_lut.py')
    out = str(tmp_path / 'cli.json')
    calls = []
    monkeypatch.setattr(builder_mod, 'measure_signature', counting(calls))
    args = [
        str(DEMO_CFG), '--device', 'cpu', '--batch-size', '4', '--out', out,
        '--warmup', '1', '--max-repeats', '2', '--min-repeats', '2',
        '--no-progress'
    ]
    assert tool.main(args) == 0
    assert len(calls) == 46 and 'wrote' in capsys.readouterr().out
    assert tool.main(args) == 0 and len(calls) == 46  # all reused
    assert LatencyTable.load(out).batch_size == 4


@pytest.mark.skipif(torch.cuda.is_available(), reason='CPU-only check')
def test_cuda_request_without_cuda_is_skipped_cleanly(tmp_path, capsys):
    tool = load_tool('build_latency_lut.py')
    out = str(tmp_path / 'gpu.json')
    assert tool.main([str(DEMO_CFG), '--device', 'cuda', '--out', out]) == 2
    assert 'CUDA is not available' in capsys.readouterr().err
    assert not os.path.exists(out)


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_cuda_build(tmp_path):
    table, report = build_latency_table(
        demo_space(),
        'cuda',
        batch_size=2,
        out=str(tmp_path / 'g.json'),
        **TINY_TIMING)
    assert report.measured == 46 and table.metadata['device_type'] == 'cuda'
    assert all(e['mean'] > 0 for e in table.entries.values())


@pytest.mark.parametrize('dtype,channels_last', [('bfloat16', True),
                                                 ('float64', False)])
def test_dtype_and_memory_format_are_part_of_keys(dtype, channels_last):
    table, report = build_latency_table(
        demo_space(), batch_size=2, dtype=dtype, channels_last=channels_last,
        **TINY_TIMING)
    fmt = 'channels_last' if channels_last else 'contiguous'
    assert report.measured == 46
    assert all(k.endswith(f'|b2|{dtype}|{fmt}') for k in table.entries)
    assert (table.dtype, table.memory_format) == (dtype, fmt)
