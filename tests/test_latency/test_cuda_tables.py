"""GPU latency tables: the 'cuda' clock chosen, the CUDA setting recorded
(on a fake CUDA device), absent from CPU tables, checked against the run's
flags; a real build where there is a GPU."""
import json
import warnings
from pathlib import Path

import pytest
import torch

import densenas_mm  # noqa: F401
from densenas_mm.latency import (LatencyTable, LatencyTableError,
                                 LatencyTableWarning, build_latency_table,
                                 resolve_clock)
from densenas_mm.latency.schema import CALLS_KEY, CUDA_FLAGS
from densenas_mm.search_space import search_space_from_cfg
from helpers.cuda_events import FakeCudaClock
from helpers.timings import crc_measure

REPO = Path(__file__).resolve().parents[2]
DEMO_CFG = REPO / 'configs/_base_/search_spaces/densenas_demo_32.py'
TINY = dict(batch_size=2, rounds=2, progress=False)
# The metadata of a CPU table, as before CUDA settings were recorded.
CPU_KEYS = {
    'device', 'device_type', 'torch', 'cuda', 'cudnn', 'num_threads',
    'python', 'platform', 'batch_size', 'dtype', 'memory_format', 'unit',
    'created', 'spaces', 'input_sizes', 'allocator', 'statistic', 'rounds',
    'extra_rounds', 'warmup', 'min_repeats', 'max_repeats', 'max_seconds',
    'clock', 'drop_preempted', 'updated', 'quality', 'backend'
}


def demo_space():
    return search_space_from_cfg(str(DEMO_CFG))


def recording(seen):
    """crc_measure that records the device and timing arguments."""

    def measure(sigs, device, act, rounds, **timing):
        seen.append((device, timing))
        return crc_measure(sigs, device, act, rounds, **timing)

    return measure


@pytest.fixture
def fake_gpu(monkeypatch):
    """A fake CUDA machine with cudnn.benchmark on, TF32 off in cuDNN and
    on in matmuls (the flags are restored after)."""
    cudnn, matmul = torch.backends.cudnn, torch.backends.cuda.matmul
    before = (cudnn.benchmark, cudnn.allow_tf32, matmul.allow_tf32)
    cudnn.benchmark, cudnn.allow_tf32, matmul.allow_tf32 = True, False, True
    yield FakeCudaClock(name='NVIDIA Fake H100').install(monkeypatch)
    cudnn.benchmark, cudnn.allow_tf32, matmul.allow_tf32 = before


def test_auto_clock_is_cuda_on_cuda_and_cuda_needs_cuda():
    assert resolve_clock('auto', 'cuda:1') == 'cuda'
    assert resolve_clock('cuda', 'cuda') == 'cuda'
    assert resolve_clock('wall', 'cuda:0') == 'wall'
    with pytest.raises(ValueError, match='needs a CUDA device'):
        resolve_clock('cuda', 'cpu')


def test_cuda_build_records_the_cuda_setting(tmp_path, fake_gpu):
    seen = []
    out = tmp_path / 'gpu.json'
    table, _ = build_latency_table(
        demo_space(), 'cuda:1', out=str(out), measure=recording(seen), **TINY)
    # every chunk timed on cuda:1 with the cuda clock, 10 calls per sample
    assert {d for d, _ in seen} == {'cuda:1'}
    for _, timing in seen:
        assert timing['clock'] == 'cuda' and timing[CALLS_KEY] == 10
        assert timing['drop_preempted'] is False
    meta = LatencyTable.load(str(out)).metadata
    assert meta['device'] == meta['gpu_name'] == 'NVIDIA Fake H100'
    assert meta['backend'] == 'torch'
    assert meta['device_type'] == 'cuda' and meta['clock'] == 'cuda'
    assert meta[CALLS_KEY] == 10 and meta['drop_preempted'] is False
    assert (meta['cudnn_benchmark'], meta['cudnn_allow_tf32'],
            meta['matmul_allow_tf32']) == (True, False, True)
    assert set(meta) == CPU_KEYS | set(CUDA_FLAGS) | {CALLS_KEY, 'gpu_name'}
    # entries timed under other flags are not resumed into this table
    torch.backends.cudnn.benchmark = False
    with pytest.raises(ValueError, match='cudnn_benchmark: True -> False'):
        build_latency_table(
            demo_space(), 'cuda:1', out=str(out), measure=recording([]),
            **TINY)


def test_calls_per_sample_is_configurable_on_cuda(fake_gpu):
    seen = []
    table, _ = build_latency_table(
        demo_space(), 'cuda', measure=recording(seen), calls_per_sample=3,
        **TINY)
    assert table.metadata[CALLS_KEY] == 3
    assert {t[CALLS_KEY] for _, t in seen} == {3}
    with pytest.raises(ValueError, match='calls_per_sample must be >= 1'):
        build_latency_table(demo_space(), 'cuda', measure=recording([]),
                            calls_per_sample=0, **TINY)


def test_cpu_build_metadata_has_no_cuda_setting():
    seen = []
    table, _ = build_latency_table(
        demo_space(), 'cpu', measure=recording(seen), **TINY)
    assert set(table.metadata) == CPU_KEYS
    assert all(CALLS_KEY not in t for _, t in seen)
    assert table.metadata['clock'] in ('thread', 'wall')


def gpu_table(**flags):
    meta = dict(
        device='NVIDIA Fake H100',
        gpu_name='NVIDIA Fake H100',
        device_type='cuda',
        batch_size=32,
        dtype='float32',
        memory_format='contiguous',
        unit='ms',
        clock='cuda',
        calls_per_sample=10,
        **flags)
    return LatencyTable(meta, source='gpu.json')


def test_check_target_warns_when_the_runs_flags_differ(fake_gpu):
    table = gpu_table(
        cudnn_benchmark=False, cudnn_allow_tf32=False, matmul_allow_tf32=True)
    # this run (fake_gpu) has cudnn.benchmark on: one message, about it
    with pytest.warns(LatencyTableWarning) as got:
        msgs = table.check_target('NVIDIA Fake H100')
    assert len(msgs) == len(got) == 1
    assert 'torch.backends.cudnn.benchmark = False but this run has ' \
        'True' in msgs[0]
    # flags given explicitly are compared instead of the process's
    msgs = table.check_target(
        flags=dict(
            cudnn_benchmark=False,
            cudnn_allow_tf32=True,
            matmul_allow_tf32=False),
        warn=False)
    assert len(msgs) == 2 and 'cudnn.allow_tf32' in msgs[0]
    assert 'matmul.allow_tf32' in msgs[1]
    torch.backends.cudnn.benchmark = False
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        assert table.check_target('NVIDIA Fake H100') == []


def test_flags_are_not_compared_without_cuda_or_for_cpu_tables(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    table = gpu_table(
        cudnn_benchmark=not torch.backends.cudnn.benchmark,
        cudnn_allow_tf32=True,
        matmul_allow_tf32=False)
    # without CUDA the run's flags cannot be told: only the device differs
    msgs = table.check_target('CPU x', warn=False)
    assert len(msgs) == 1 and 'measured on' in msgs[0]
    # a table without flags (CPU, or an older GPU table) is never compared
    plain = gpu_table()
    assert plain.check_target(
        flags=dict(cudnn_benchmark=True), warn=False) == []


@pytest.mark.parametrize('key,value,match', [
    ('cudnn_benchmark', 'yes', 'must be true or false'),
    (CALLS_KEY, 0, 'integer >= 1'),
    (CALLS_KEY, 2.5, 'integer >= 1'),
])
def test_bad_cuda_metadata_is_refused_at_load(tmp_path, key, value, match):
    table = gpu_table(cudnn_benchmark=True)
    data = table.to_dict()
    data['metadata'][key] = value
    path = tmp_path / 'bad.json'
    path.write_text(json.dumps(data))
    with pytest.raises(LatencyTableError, match=match):
        LatencyTable.load(str(path))


@pytest.mark.skipif(
    not torch.cuda.is_available(), reason='needs a CUDA device')
def test_real_cuda_build_records_the_setting(tmp_path):
    device = f'cuda:{torch.cuda.device_count() - 1}'
    table, _ = build_latency_table(
        demo_space(),
        device,
        out=str(tmp_path / 'gpu.json'),
        warmup=1,
        min_repeats=2,
        max_repeats=2,
        extra_rounds=0,
        max_noisy=1.0,
        **TINY)
    meta = table.metadata
    assert meta['clock'] == 'cuda' and meta[CALLS_KEY] == 10
    assert meta['cudnn_benchmark'] == torch.backends.cudnn.benchmark
    assert meta['device'] == torch.cuda.get_device_name(torch.device(device))
    assert all(e['latency'] > 0 for e in table.entries.values())


@pytest.mark.parametrize('drop', ['gpu_name', 'cudnn_allow_tf32'])
def test_v3_cuda_table_without_its_identity_is_refused(tmp_path, drop):
    table = gpu_table(
        cudnn_benchmark=True, cudnn_allow_tf32=False, matmul_allow_tf32=True)
    data = table.to_dict()
    path = tmp_path / 'ok.json'
    path.write_text(json.dumps(data))
    assert LatencyTable.load(str(path)).metadata['gpu_name'] == (
        'NVIDIA Fake H100')
    del data['metadata'][drop]
    path.write_text(json.dumps(data))
    with pytest.raises(LatencyTableError, match=f"must record.*'{drop}'"):
        LatencyTable.load(str(path))
    # a version 2 file predates the rule: it still loads
    data['version'] = 2
    del data['calibration']
    path.write_text(json.dumps(data))
    assert LatencyTable.load(str(path)).version == 2
