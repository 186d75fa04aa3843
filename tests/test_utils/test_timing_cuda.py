"""The 'cuda' clock of the one timing loop, on a fake CUDA device (call
order, samples) and, where there is one, on a real GPU."""
import pytest
import torch

from densenas_mm.experiments.benchmark.measure import time_calls
from densenas_mm.utils import timing
from densenas_mm.utils.timing import (CUDA_CALLS_PER_SAMPLE, time_samples,
                                      timed)
from helpers.cuda_events import FakeCudaClock


def test_cuda_clock_sets_the_device_and_times_k_calls_per_event_pair(
        monkeypatch):
    # calls take 1, 2, 3, ... ms: warm-up calls 1-2, then samples of 3
    fake = FakeCudaClock(
        durations=[float(i) for i in range(1, 20)]).install(monkeypatch)
    samples = time_samples(
        fake.work,
        warmup=2,
        min_repeats=3,
        clock='cuda',
        device='cuda:1',
        calls_per_sample=3)
    # sample = (sum of its 3 calls' ms) / 3, in seconds
    assert samples == pytest.approx([4e-3, 7e-3, 10e-3])
    kinds = fake.kinds()
    # the device is made current before anything else and restored last
    assert fake.log[0] == ('set_device', 1) and fake.log[-1] == ('set_device',
                                                                 0)
    assert kinds.index('set_device') < kinds.index('record')
    # every call and event ran on cuda:1
    assert all(dev == 1 for kind, dev in fake.log
               if kind in ('call', 'record'))
    # warm-up, one sync, then per sample: event, 3 calls, event, one sync
    sample = ['record', 'call', 'call', 'call', 'record', 'sync']
    assert kinds[1:-1] == ['call', 'call', 'sync'] + sample * 3
    assert [d for k, d in fake.log if k == 'sync'] == [1] * 4


def test_cuda_clock_defaults_and_ignores_preemption(monkeypatch):
    fake = FakeCudaClock(durations=[2.0]).install(monkeypatch)
    # 'cuda' is the current device (0); interruptions do not matter
    counter = iter(range(1000))
    monkeypatch.setattr(timing, 'preemption_counter', lambda:
                        (lambda: next(counter)))
    result = timed(
        fake.work,
        unit='ms',
        warmup=0,
        min_repeats=4,
        clock='cuda',
        device='cuda',
        drop_preempted=True)
    assert result.samples == pytest.approx((2.0, ) * 4)
    assert fake.kinds().count('call') == 4 * CUDA_CALLS_PER_SAMPLE == 40
    assert fake.kinds().count('record') == 8


def test_max_seconds_counts_every_call_of_a_sample(monkeypatch):
    fake = FakeCudaClock(durations=[1.0]).install(monkeypatch)
    # 10 calls of 1 ms per sample: 5 ms are spent within the first sample
    samples = time_samples(
        fake.work,
        warmup=0,
        min_repeats=1,
        max_repeats=50,
        max_seconds=0.005,
        clock='cuda',
        device='cuda:0')
    assert len(samples) == 1 and fake.calls == 10


def test_wall_clock_on_cuda_sets_the_device_too(monkeypatch):
    fake = FakeCudaClock().install(monkeypatch)
    ticks = iter(range(100))
    monkeypatch.setattr(timing, 'synced_clock', lambda: float(next(ticks)))
    samples = time_samples(
        fake.work, warmup=1, min_repeats=2, clock='wall', device='cuda:2')
    assert samples == [1.0, 1.0]
    assert fake.log[0] == ('set_device', 2) and fake.log[-1] == ('set_device',
                                                                 0)
    assert 'record' not in fake.kinds()


def test_time_calls_uses_events_on_cuda_one_call_per_sample(monkeypatch):
    fake = FakeCudaClock(durations=[5.0]).install(monkeypatch)
    summary = time_calls(fake.work, 1, 3, device='cuda:1')
    assert summary['median_s'] == pytest.approx(5e-3)
    assert summary['repeats'] == 3 and fake.calls == 4
    assert fake.kinds().count('record') == 6


def test_cuda_clock_refuses_bad_arguments():
    with pytest.raises(ValueError, match='needs a CUDA device'):
        time_samples(lambda: None, clock='cuda')
    with pytest.raises(ValueError, match='needs a CUDA device'):
        time_samples(lambda: None, clock='cuda', device='cpu')
    with pytest.raises(ValueError, match='calls_per_sample must be >= 1'):
        time_samples(lambda: None, calls_per_sample=0)
    with pytest.raises(ValueError, match='CUDA events'):
        timing.clock_fn('cuda')


def test_cpu_calls_per_sample_averages_k_calls(monkeypatch):
    ticks = iter(range(0, 1000, 3))
    monkeypatch.setattr(timing.time, 'thread_time', lambda: float(next(ticks)))
    calls = []
    samples = time_samples(
        lambda: calls.append(1),
        warmup=0,
        min_repeats=2,
        clock='thread',
        calls_per_sample=4)
    # each sample: one clock read before and after 4 calls, 3 s apart
    assert samples == [0.75, 0.75] and len(calls) == 8


@pytest.mark.skipif(
    not torch.cuda.is_available(), reason='needs a CUDA device')
def test_real_cuda_clock_times_a_matmul_on_every_gpu():
    last = torch.cuda.device_count() - 1
    medians = []
    for device in sorted({0, last}):
        a = torch.randn(1024, 1024, device=f'cuda:{device}')
        before = torch.cuda.current_device()
        result = timed(
            lambda a=a: a @ a,
            unit='ms',
            warmup=3,
            min_repeats=5,
            clock='cuda',
            device=f'cuda:{device}')
        assert torch.cuda.current_device() == before
        assert result.stats.n == 5 and result.stats.min > 0
        medians.append(result.stats.median)
    # the same work on two GPUs of one machine takes about as long
    assert max(medians) < 3 * min(medians)
