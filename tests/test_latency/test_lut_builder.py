"""The latency-table builder: coverage, rounds, re-measurement, noisy
tables, resume, the command line."""
import json
import os
from pathlib import Path

import pytest
import torch

import densenas_mm  # noqa: F401
from densenas_mm.latency import LatencyTable, build_latency_table, space_ops
from densenas_mm.latency import builder as builder_mod
from densenas_mm.search_space import search_space_from_cfg
from helpers.timings import ms_rounds
from helpers.tools import load_tool

REPO = Path(__file__).resolve().parents[2]
DEMO_CFG = REPO / 'configs/_base_/search_spaces/densenas_demo_32.py'
TINY_TIMING = dict(
    warmup=1, min_repeats=2, max_repeats=2, rounds=2, progress=False)


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
        # 2 rounds of 2 timed calls
        assert entry['latency'] > 0 and entry['count'] >= 4
        assert len(entry['rounds']) == len(entry['round_minima']) >= 2
    meta = loaded.metadata
    assert meta['device_type'] == 'cpu' and meta['batch_size'] == 2
    assert meta['torch'] == torch.__version__ and meta['warmup'] == 1
    # one torch thread (tests/conftest.py): the thread clock
    assert meta['clock'] == 'thread' and meta['rounds'] == 2
    assert meta['statistic'] == 'min_of_minima'  # the default
    assert loaded.quality.status in ('ok', 'noisy')
    assert meta['spaces'] == ['densenas_demo_32']
    assert meta['input_sizes'] == [32]


def steady_ms(sig):
    """A deterministic 'latency' per signature (1.0-1.99 ms)."""
    return 1.0 + (sum(map(ord, sig.key)) % 100) / 100


def counting(calls, fail_after=None, value=None):
    """Stand-in timings: the same samples in every round (rounds agree),
    ``value`` or :func:`steady_ms` ms."""

    def measure(sigs, device, act, rounds, **timing):
        if fail_after is not None and len(calls) + len(sigs) > fail_after:
            raise KeyboardInterrupt('simulated interruption')
        calls.extend(s.key for s in sigs)
        return {
            s.key: ms_rounds([[value or steady_ms(s)] * 3] * rounds)
            for s in sigs
        }

    return measure


def cycling(calls, cycle=(1.0, 2.0, 4.0, 8.0)):
    """Stand-in timings whose rounds never agree: each round of a key takes
    the next value of ``cycle`` (one sample per round)."""
    pos = {}

    def measure(sigs, device, act, rounds, **timing):
        calls.append(([s.key for s in sigs], rounds))
        out = {}
        for s in sigs:
            start = pos.get(s.key, 0)
            out[s.key] = ms_rounds([[cycle[(start + i) % len(cycle)]]
                                    for i in range(rounds)])
            pos[s.key] = start + rounds
        return out

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
    # chunks of 4: the 5th chunk (entries 17-20) was interrupted
    assert len(first) == 16 and not os.path.exists(out)
    partial = LatencyTable.load(out + '.partial')
    assert not partial.complete and len(partial) == 16
    second = []
    table, report = build_latency_table(
        space, out=out, measure=counting(second), **TINY_TIMING)
    assert len(second) == 46 - 16 and report.reused == 16
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


def test_entry_value_is_the_statistic_of_its_rounds():
    rounds = [[2.0, 1.0, 3.0], [6.0, 4.0, 8.0], [3.0, 2.5, 3.5]]

    def measure(sigs, device, act, n, **timing):
        assert n == 3
        return {s.key: ms_rounds(rounds) for s in sigs}

    expected = dict(
        median_of_medians=3.0,  # medians 2, 6, 3
        median_of_minima=2.5,  # minima 1, 4, 2.5
        min_of_medians=2.0,
        min_of_minima=1.0)
    for statistic, value in expected.items():
        table, report = build_latency_table(
            demo_space(),
            measure=measure,
            rounds=3,
            extra_rounds=0,
            statistic=statistic,
            progress=False)
        entry = next(iter(table.entries.values()))
        assert entry['latency'] == value and entry['count'] == 9
        assert entry['rounds'] == [2.0, 6.0, 3.0]
        assert entry['round_minima'] == [1.0, 4.0, 2.5]
        assert table.metadata['statistic'] == statistic
    with pytest.raises(ValueError, match='statistic must be one of'):
        build_latency_table(demo_space(), measure=measure, statistic='mean')


def test_only_disagreeing_entries_get_extra_rounds():
    space = demo_space()
    keys = [s.key for s in space_ops(space, batch_size=32).unique()]
    settling = keys[3:8]
    sequence = [1.0, 2.0, 4.0, 2.0, 2.0, 2.0]  # disagree, then settle at 2
    calls, pos = [], {}

    def measure(sigs, device, act, rounds, **timing):
        calls.append(([s.key for s in sigs], rounds))
        out = {}
        for s in sigs:
            start = pos.get(s.key, 0)
            pos[s.key] = start + rounds
            out[s.key] = ms_rounds(
                [[sequence[start + i] if s.key in settling else 2.0]
                 for i in range(rounds)])
        return out

    table, report = build_latency_table(
        space,
        measure=measure,
        rounds=3,
        extra_rounds=4,
        statistic='median_of_medians',
        checkpoint_every=50,
        progress=False)
    # [1, 2, 4]: MAD 1; + 2: MAD 0.5; + 2: MAD 0, they agree
    assert calls == [(keys, 3), (settling, 1), (settling, 1)]
    assert report.extra_rounds == 10 and report.noisy == []
    assert all(table.entries[k]['rounds'] == [1.0, 2.0, 4.0, 2.0, 2.0]
               for k in settling)
    assert all(table.entries[k]['latency'] == 2.0 for k in keys)
    assert report.quality['status'] == 'ok'


def test_a_table_that_stays_noisy_is_marked_so(tmp_path):
    space, calls = demo_space(), []
    out = str(tmp_path / 'noisy.json')
    table, report = build_latency_table(
        space,
        out=out,
        measure=cycling(calls),
        rounds=5,
        extra_rounds=3,
        tolerance=0.05,
        max_noisy=0.1,
        statistic='median_of_medians',
        checkpoint_every=50,
        progress=False)
    keys = [s.key for s in space_ops(space, batch_size=32).unique()]
    # 5 interleaved rounds of all 46, then 3 extra rounds of the 46 that
    # disagree (1, 2, 4, 8, 1: median 2, MAD 1)
    assert calls == [(keys, 5)] + [(keys, 1)] * 3
    assert report.extra_rounds == 46 * 3 and len(report.noisy) == 46
    entry = table.entries[keys[0]]
    assert entry['rounds'] == [1.0, 2.0, 4.0, 8.0, 1.0, 2.0, 4.0, 8.0]
    assert entry['noisy'] is True and entry['latency'] == 3.0
    quality = LatencyTable.load(out).quality
    assert quality.status == 'noisy' and len(quality.noisy) == 46
    assert quality.reason.startswith(
        '46 of 46 entries (100 %) kept rounds that disagree after '
        're-measurement (robust relative standard error of the rounds above '
        '5 %)')
    assert 'at most 10 % are allowed' in quality.reason
    # a rerun re-measures only the noisy entries, adding rounds to them:
    # 1, 2, 4, 8, 1, 2, 4, 8 and five rounds of 2 -> median 2, MAD 0
    again = []
    table, report = build_latency_table(
        space,
        out=out,
        measure=counting(again, value=2.0),
        rounds=5,
        extra_rounds=3,
        statistic='median_of_medians',
        checkpoint_every=50,
        progress=False)
    assert sorted(again) == sorted(keys) and report.remeasured == 46
    assert report.measured == 0 and report.reused == 0
    entry = table.entries[keys[0]]
    assert len(entry['rounds']) == 8 + 5 and entry['noisy'] is False
    assert entry['latency'] == 2.0
    assert report.quality['status'] == 'ok'
    third = []
    _, report = build_latency_table(
        space,
        out=out,
        measure=counting(third),
        rounds=5,
        extra_rounds=3,
        statistic='median_of_medians',
        checkpoint_every=50,
        progress=False)
    assert third == [] and report.reused == 46


def test_version_1_table_at_out_is_not_mixed_in(tmp_path):
    out = tmp_path / 'old.json'
    table, _ = build_latency_table(
        demo_space(), measure=counting([]), **TINY_TIMING)
    data = table.to_dict()
    data['version'] = 1
    for entry in data['entries'].values():
        entry.update(mean=entry['latency'], std=0.0)
    out.write_text(json.dumps(data))
    with pytest.raises(ValueError, match='schema version: 1 -> 3'):
        build_latency_table(
            demo_space(), out=str(out), measure=counting([]), **TINY_TIMING)


def test_version_2_table_at_out_is_resumed_into_version_3(tmp_path):
    out = tmp_path / 'v2.json'
    table, _ = build_latency_table(
        demo_space(), measure=counting([]), **TINY_TIMING)
    data = table.to_dict()
    data['version'] = 2
    del data['calibration'], data['metadata']['backend']
    out.write_text(json.dumps(data))
    again = []
    table, report = build_latency_table(
        demo_space(), out=str(out), measure=counting(again), **TINY_TIMING)
    assert again == [] and report.reused == 46
    saved = json.loads(out.read_text())
    assert saved['version'] == 3 and saved['metadata']['backend'] == 'torch'
    assert saved['calibration'] is None
    # entries timed with another backend are not mixed in
    data['metadata']['backend'] = 'onnxruntime-cpu'
    data['version'] = 3
    out.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="backend: 'onnxruntime-cpu' -> "
                       "'torch'"):
        build_latency_table(
            demo_space(), out=str(out), measure=counting([]), **TINY_TIMING)


def test_command_line_builds_and_resumes(tmp_path, monkeypatch, capsys):
    tool = load_tool('build_latency_lut.py')
    out = str(tmp_path / 'cli.json')
    calls = []
    monkeypatch.setattr(builder_mod, 'measure_signatures', counting(calls))
    args = [
        str(DEMO_CFG), '--device', 'cpu', '--batch-size', '4', '--out', out,
        '--warmup', '1', '--max-repeats', '2', '--min-repeats', '2',
        '--rounds', '3', '--no-progress'
    ]
    assert tool.main(args) == 0
    text = capsys.readouterr().out
    assert len(calls) == 46 and 'wrote' in text
    assert 'table OK: 0 of 46 entries (0 %)' in text
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
        demo_space(),
        batch_size=2,
        dtype=dtype,
        channels_last=channels_last,
        **TINY_TIMING)
    fmt = 'channels_last' if channels_last else 'contiguous'
    assert report.measured == 46
    assert all(k.endswith(f'|b2|{dtype}|{fmt}') for k in table.entries)
    assert (table.dtype, table.memory_format) == (dtype, fmt)


def test_command_line_retries_a_noisy_table(tmp_path, monkeypatch, capsys):
    tool = load_tool('build_latency_lut.py')
    calls = []

    def measure(sigs, device, act, rounds, **timing):
        # build 1 (3 rounds + 1 extra): every round lower than the last, so
        # no floor is confirmed; then 0.5 ms in every round
        calls.append(rounds)
        start = 0 if len(calls) == 1 else 3
        return {
            s.key: ms_rounds(
                [[1.0 - 0.1 * (start + i) if len(calls) <= 2 else 0.5]
                 for i in range(rounds)])
            for s in sigs
        }

    monkeypatch.setattr(builder_mod, 'measure_signatures', measure)
    args = [
        str(DEMO_CFG), '--rounds', '3', '--extra-rounds', '1',
        '--checkpoint-every', '50', '--no-progress'
    ]
    once = str(tmp_path / 'once.json')
    assert tool.main(args + ['--out', once, '--passes', '1']) == 0
    assert 'table NOISY: 46 of 46 entries (100 %)' in capsys.readouterr().out
    assert calls == [3, 1]
    assert LatencyTable.load(once).quality.status == 'noisy'
    calls.clear()
    twice = str(tmp_path / 'twice.json')
    assert tool.main(args + ['--out', twice]) == 0  # --passes 2
    text = capsys.readouterr().out
    assert 'table noisy after build 1 of at most 2' in text
    assert 'table OK: 0 of 46 entries' in text
    # the second build added 3 rounds to the noisy entries only
    assert calls == [3, 1, 3]
    entry = next(iter(LatencyTable.load(twice).entries.values()))
    assert entry['round_minima'] == pytest.approx(
        [1.0, 0.9, 0.8, 0.7, 0.5, 0.5, 0.5])
    assert entry['latency'] == 0.5


def test_every_flat_build_keyword_maps_onto_its_setting():
    """The 17 keywords build_latency_table took before its settings were
    grouped (and calls_per_sample and backend, added since) still work, each landing in
    its group's field, and build the same table as the grouped settings."""
    from densenas_mm.latency import BuildOptions, RoundSettings, TableSetting
    flat = dict(
        batch_size=2,
        rounds=3,
        warmup=0,
        min_repeats=1,
        max_repeats=3,
        max_seconds=None,
        clock='wall',
        statistic='median_of_minima',
        tolerance=0.2,
        extra_rounds=1,
        max_noisy=0.5,
        keep_memory=False,
        drop_preempted=False,
        calls_per_sample=2,
        dtype='float64',
        channels_last=True,
        backend='torch',
        checkpoint_every=7,
        resume=False,
        progress=False)
    assert set(flat) | {'device'} == set(builder_mod.FLAT_KEYS)
    seen = []

    def measure(sigs, device, act, rounds, **timing):
        seen.append((device, rounds, timing))
        return counting([], value=1.5)(sigs, device, act, rounds)

    table, report = build_latency_table(demo_space(), 'cpu', measure=measure,
                                        **flat)
    grouped, _ = build_latency_table(
        demo_space(),
        measure=measure,
        setting=TableSetting('cpu', 2, 'float64', True),
        timing=RoundSettings(3, 0, 1, 3, None, 'wall', 'median_of_minima', 0.2,
                             1, 0.5, False, False, 2),
        options=dict(checkpoint_every=7, resume=False, progress=False))
    assert seen[0] == ('cpu', 3,
                       dict(
                           warmup=0,
                           min_repeats=1,
                           max_repeats=3,
                           max_seconds=None,
                           clock='wall',
                           drop_preempted=False,
                           calls_per_sample=2))
    assert seen == seen[:len(seen) // 2] * 2  # both builds asked the same
    assert len(seen) // 2 == -(-report.needed // 7)  # chunks of 7
    meta = table.metadata
    assert (meta['batch_size'], meta['dtype'], meta['memory_format']) == (
        2, 'float64', 'channels_last')
    assert (meta['statistic'], meta['rounds'], meta['extra_rounds'],
            meta['allocator']) == ('median_of_minima', 3, 1, 'default')
    drop = ('created', 'updated')
    assert {k: v for k, v in meta.items() if k not in drop} == {
        k: v for k, v in grouped.metadata.items() if k not in drop}
    assert table.entries == grouped.entries
    assert BuildOptions().checkpoint_every == 10 and TableSetting().device \
        == 'cpu'


@pytest.mark.parametrize('kwargs, error, match', [
    (dict(round=3), TypeError, r"unexpected argument\(s\) \['round'\]"),
    (dict(rounds=3, timing=dict(rounds=2)), TypeError,
     'rounds is given both as a keyword and as timing.rounds'),
    (dict(setting=dict(device='cpu'), device='cpu'), TypeError,
     'device is given both'),
    (dict(timing=dict(tolerance=0)), ValueError, 'tolerance > 0'),
])
def test_bad_build_keywords(kwargs, error, match):
    with pytest.raises(error, match=match):
        build_latency_table(demo_space(), measure=counting([]), **kwargs)


def test_the_tool_maps_its_options_onto_the_settings():
    from densenas_mm.latency import BuildOptions, RoundSettings, TableSetting
    tool = load_tool('build_latency_lut.py')
    args = tool.parse_args([
        str(DEMO_CFG), '--batch-size', '8', '--rounds', '3',
        '--max-seconds', '0', '--clock', 'wall', '--statistic',
        'median_of_medians', '--max-noisy', '0.2', '--default-allocator',
        '--keep-preempted', '--dtype', 'float16', '--channels-last',
        '--checkpoint-every', '4', '--no-resume', '--no-progress'
    ])
    got = tool.build_settings(args)
    assert got['setting'] == TableSetting('cpu', 8, 'float16', True)
    assert got['timing'] == RoundSettings(
        rounds=3, warmup=2, min_repeats=5, max_repeats=20, max_seconds=None,
        clock='wall', statistic='median_of_medians', tolerance=0.05,
        extra_rounds=6, max_noisy=0.2, keep_memory=False,
        drop_preempted=False)
    assert got['options'] == BuildOptions(4, resume=False, progress=False)
