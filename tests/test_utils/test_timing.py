"""The one timing loop and its statistics (densenas_mm.utils.timing)."""
import pytest

from densenas_mm.experiments.benchmark.measure import timing_summary
from densenas_mm.utils.timing import keep_freed_memory, time_samples
from densenas_mm.utils.timing_stats import relative_sem, summarize


def test_summarize():
    s = summarize([5.0, 1.0, 3.0, 2.0, 4.0])
    assert (s.n, s.median, s.mean, s.min, s.max) == (5, 3.0, 3.0, 1.0, 5.0)
    assert s.iqr == pytest.approx(2.0)
    assert s.std == pytest.approx(2.5**0.5)  # sample std
    assert (s.p10, s.p90) == (1.0, 5.0)
    assert s.rel_sem == pytest.approx(relative_sem(3.0, 2.5**0.5, 5))
    one = summarize([2.0])
    assert (one.std, one.iqr, one.rel_sem) == (0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match='at least one'):
        summarize([])


def test_benchmark_summary_keys():
    s = timing_summary([1.0, 2.0, 3.0, 4.0, 5.0])
    assert s['median_s'] == 3.0
    assert s['iqr_s'] == pytest.approx(2.0)
    assert s['repeats'] == 5


def test_fixed_count_and_warmup():
    calls = []
    samples = time_samples(lambda: calls.append(1), warmup=2, min_repeats=4)
    assert len(samples) == 4 and len(calls) == 6
    assert all(t >= 0 for t in samples)


def test_stops_at_the_time_budget():
    import time
    samples = time_samples(
        lambda: time.sleep(0.01),
        warmup=0,
        min_repeats=2,
        max_repeats=1000,
        max_seconds=0.05)
    assert 2 <= len(samples) < 1000
    assert sum(samples) >= 0.05


def test_stops_once_the_mean_is_precise():
    counter = iter(range(10**6))
    samples = time_samples(
        lambda: next(counter),
        warmup=0,
        min_repeats=3,
        max_repeats=10**5,
        rel_sem=0.5)
    assert 3 <= len(samples) < 10**5


@pytest.mark.parametrize(
    'kwargs',
    [dict(min_repeats=0),
     dict(min_repeats=5, max_repeats=4),
     dict(warmup=-1)])
def test_bad_counts(kwargs):
    with pytest.raises(ValueError, match='min_repeats'):
        time_samples(lambda: None, **kwargs)


def test_thread_clock_leaves_out_time_off_the_cpu():
    import time
    wall = time_samples(lambda: time.sleep(0.02), warmup=0, min_repeats=2)
    cpu = time_samples(
        lambda: time.sleep(0.02), warmup=0, min_repeats=2, clock='thread')
    # sleeping takes wall time but (almost) no CPU time of the thread
    assert min(wall) >= 0.02 and max(cpu) < 0.005
    with pytest.raises(ValueError, match='clock must be one of'):
        time_samples(lambda: None, clock='cycles')


def test_keep_freed_memory_stops_page_faults():
    import resource
    import sys

    import torch
    if not sys.platform.startswith('linux'):
        pytest.skip('RUSAGE_THREAD and glibc mallopt are Linux-only')
    assert keep_freed_memory()
    x = torch.randn(32, 48, 16, 16)
    conv = torch.nn.Conv2d(48, 48, 3, padding=1)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # how tables are timed on a CPU
    try:
        with torch.no_grad():
            for _ in range(3):
                conv(x)
            before = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt
            for _ in range(10):
                conv(x)  # a 1.5 MB output per call, freed each time
            after = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt
    finally:
        torch.set_num_threads(threads)
    # with glibc's default mmap / trim: ~1,100 faults per call here
    assert after - before < 100


def fake_calls(monkeypatch, durations, preempted):
    """A fake clock and preemption counter: call i takes durations[i]
    seconds and is interrupted when preempted[i]."""
    from densenas_mm.utils import timing
    state = dict(t=0.0, switches=0, calls=0)

    def fn():
        i = state['calls']
        state['calls'] += 1
        state['t'] += durations[i]
        state['switches'] += int(preempted[i])

    monkeypatch.setattr(timing, 'synced_clock', lambda: state['t'])
    monkeypatch.setattr(timing, 'preemption_counter', lambda:
                        (lambda: state['switches']))
    return fn, state


def test_drop_preempted_leaves_out_interrupted_calls(monkeypatch):
    fn, state = fake_calls(monkeypatch, [1.0, 9.0, 1.5, 9.0, 2.0, 3.0],
                           [False, True, False, True, False, False])
    got = time_samples(fn, warmup=0, min_repeats=3, drop_preempted=True)
    assert got == [1.0, 1.5, 2.0] and state['calls'] == 5
    # kept by default
    fn, state = fake_calls(monkeypatch, [1.0, 9.0, 1.5], [False, True, False])
    assert time_samples(fn, warmup=0, min_repeats=3) == [1.0, 9.0, 1.5]


def test_too_few_undisturbed_calls_are_filled_with_the_fastest(monkeypatch):
    # max_repeats 2 -> at most 8 calls; only one runs undisturbed
    fn, state = fake_calls(monkeypatch, [9.0, 8.0, 1.0] + [7.5] * 5,
                           [True, True, False] + [True] * 5)
    got = time_samples(fn, warmup=0, min_repeats=2, drop_preempted=True)
    assert got == [1.0, 7.5] and state['calls'] == 8


def test_interrupted_calls_stop_at_four_times_the_time_budget(monkeypatch):
    # every call interrupted, 1 s each: max_seconds 1 -> 4 calls, not 40
    fn, state = fake_calls(monkeypatch, [1.0] * 40, [True] * 40)
    got = time_samples(
        fn,
        warmup=0,
        min_repeats=2,
        max_repeats=10,
        max_seconds=1.0,
        drop_preempted=True)
    assert got == [1.0, 1.0] and state['calls'] == 4


def test_timing_result_holds_samples_and_their_summary():
    from densenas_mm.utils.timing import timed
    from densenas_mm.utils.timing_stats import SUMMARY_FIELDS, TimingResult
    res = TimingResult([0.005, 0.001, 0.003, 0.002, 0.004])
    assert res.samples == (0.005, 0.001, 0.003, 0.002, 0.004)
    assert res.unit == 's' and res.stats == summarize(res.samples)
    ms = res.to('ms')
    assert ms.unit == 'ms' and ms.stats.median == pytest.approx(3.0)
    assert ms.to('s').samples == pytest.approx(res.samples)
    assert res.to('s') is res
    summary = ms.summary('median', 'iqr', 'p90')
    assert summary == pytest.approx(
        dict(median_ms=3.0, iqr_ms=2.0, p90_ms=5.0, repeats=5))
    assert 'rel_sem' in SUMMARY_FIELDS and 'n' not in SUMMARY_FIELDS
    with pytest.raises(ValueError, match='unknown timing statistic'):
        res.summary('mode')
    with pytest.raises(ValueError, match='at least one sample'):
        TimingResult(())
    with pytest.raises(ValueError, match='unit must be one of'):
        TimingResult((1.0, ), 'us')
    with pytest.raises(ValueError, match='unit must be one of'):
        res.to('us')
    calls = []
    got = timed(lambda: calls.append(1), unit='ms', warmup=1, min_repeats=3)
    assert len(got.samples) == 3 and len(calls) == 4 and got.unit == 'ms'


def test_time_module_returns_a_timing_result_in_ms():
    import torch

    from densenas_mm.latency import time_module, time_modules
    from densenas_mm.utils.timing_stats import TimingResult
    conv = torch.nn.Conv2d(3, 4, 3).train()
    x = torch.randn(1, 3, 8, 8)
    res = time_module(conv, x, warmup=0, min_repeats=2, max_repeats=2)
    assert isinstance(res, TimingResult) and res.unit == 'ms'
    assert res.stats.n == 2 and res.stats.mean > 0
    assert conv.training  # back in the mode it was in
    rounds = time_modules({'c': (conv, x)}, 2, warmup=0, min_repeats=3)
    assert [(r.unit, r.stats.n) for r in rounds['c']] == [('ms', 3)] * 2
