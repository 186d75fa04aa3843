"""The latency table builder and calibration commands on a fake CUDA
device, end to end: every op, net and input placed on ``cuda:0``
(:class:`helpers.fake_cuda.FakeCudaMode` raises CUDA's error where a CPU
tensor meets a device one), timed with CUDA
events on the device (:class:`helpers.cuda_events.FakeCudaClock`, reading
the host's clock), the GPU's name recorded. The same calls on a real GPU
are in ``test_latency_calibration.py`` (skipped without one)."""
import json
from pathlib import Path

import pytest

import densenas_mm  # noqa: F401
from densenas_mm.apis import latency_calibration, latency_level
from densenas_mm.apis.latency_agreement import random_archs
from densenas_mm.apis.latency_audit import audit_arch
from densenas_mm.latency import LatencyTable, build_latency_table
from densenas_mm.search_space import load_preset
from helpers.cuda_events import FakeCudaClock
from helpers.fake_cuda import FakeCudaMode
from helpers.fake_latency import CONFIG

GPU = 'NVIDIA Fake H100'
QUICK = dict(rounds=2, warmup=0, min_repeats=1, max_repeats=2)


def _events_on_device(clock):
    kinds = clock.kinds()
    return kinds.count('record'), kinds.count('sync')


@pytest.fixture
def gpu(monkeypatch, tmp_path, one_cpu_thread):
    """A fake GPU, a demo table built on it (batch 2, every op placed and
    timed there) and the mode that places tensors on it: ``(clock, mode,
    table path)``."""
    clock = FakeCudaClock(name=GPU, host_time=True).install(monkeypatch)
    lut = str(tmp_path / 'gpu.json')
    mode = FakeCudaMode()
    with mode:
        table, _ = build_latency_table(
            load_preset('densenas_demo_32'), 'cuda', out=lut, batch_size=2,
            progress=False, **QUICK)
    assert len(table) == 46 and table.metadata['gpu_name'] == GPU
    assert table.metadata['clock'] == 'cuda'
    # two events per sample, at least one sample per op and round
    assert _events_on_device(clock)[0] >= 2 * 46 * QUICK['rounds']
    clock.log.clear()
    return clock, mode, lut


def test_calibrate_heldout_and_level_on_a_fake_gpu(gpu, tmp_path):
    clock, mode, lut = gpu
    with mode:
        fit = latency_calibration.calibrate_table(
            CONFIG, lut, nets=4, seed=0, device='cuda', terms=('scale', ),
            extra_rounds=0, **QUICK)
    assert fit.status == 0
    records, syncs = _events_on_device(clock)
    # each sample: a start and an end event, then a synchronisation
    assert records >= 2 * 4 * QUICK['rounds'] and syncs >= records // 2
    assert mode.ops > 1000
    cal = LatencyTable.load(lut).calibration
    assert cal.fit['device'] == GPU and cal.fit['backend'] == 'torch'
    assert len(cal.fit['samples']) == 4 and cal.scale > 0
    assert all(r['measured'] > 0 for r in cal.fit['samples'])

    report = str(tmp_path / 'heldout.json')
    with mode:
        held = latency_calibration.heldout_accuracy(
            CONFIG, lut, nets=3, seed=1, device='cuda', level_each_pass=True,
            json=report, extra_rounds=0, **QUICK)
    assert held.status == 0
    data = json.loads(Path(report).read_text())
    assert data['device'] == GPU and len(data['nets']) == 3
    assert len(data['pass_levels']) == 2
    assert all(n['measured_ms'] > 0 for n in data['nets'])

    with mode:
        level = latency_level.check_level(CONFIG, lut, out=lut,
                                          device='cuda', extra_rounds=0,
                                          **QUICK)
    assert level.status == 0 and level.result['device'] == GPU
    assert level.result['nets'] == 4 and level.result['level'] > 0
    assert len(LatencyTable.load(lut).calibration.fit['level_checks']) == 1


def test_audit_of_a_net_on_a_fake_gpu(gpu):
    clock, mode, lut = gpu
    table = LatencyTable.load(lut)
    arch = random_archs(CONFIG, 1, seed=0)[0]
    with mode:
        rows = audit_arch(arch, table, device='cuda', extra_rounds=0,
                          **QUICK)
    # every part, then the whole net, timed on the device
    assert len(rows) >= 3 and all(r.measured > 0 for r in rows)
    assert _events_on_device(clock)[0] >= 2 * len(rows) * QUICK['rounds']
