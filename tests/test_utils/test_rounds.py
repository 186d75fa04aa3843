"""Interleaved rounds and their statistic (densenas_mm.utils.rounds)."""
import math

import pytest

from helpers.timings import ms_rounds

from densenas_mm.utils.rounds import (RoundStats, measure_until_agreed,
                                      robust_rel_err, time_rounds)
from densenas_mm.utils.timing_stats import TimingResult

# sqrt(pi / 2) * 1.4826, the factor from a MAD to a median's standard error
MEDIAN_SE = 1.858164


def test_rounds_interleave_the_callables():
    calls = []
    fns = {k: (lambda k=k: calls.append(k)) for k in 'abc'}
    got = time_rounds(fns, 3, warmup=1, min_repeats=2)
    # round r: a (1 warm-up + 2 timed), b, c; then the next round
    assert calls == (['a'] * 3 + ['b'] * 3 + ['c'] * 3) * 3
    assert all(isinstance(r, TimingResult) and r.unit == 's'
               for v in got.values() for r in v)
    assert {
        k: [len(r.samples) for r in v]
        for k, v in got.items()
    } == {
        k: [2, 2, 2]
        for k in 'abc'
    }
    with pytest.raises(ValueError, match='rounds must be >= 1'):
        time_rounds(fns, 0)


def test_robust_rel_err():
    # median 3, absolute deviations 2, 1, 0, 1, 97 -> MAD 1: the outlier
    # (100) does not decide the spread
    assert robust_rel_err([1, 2, 3, 4, 100]) == pytest.approx(
        MEDIAN_SE / math.sqrt(5) / 3, rel=1e-6)
    assert robust_rel_err([2.0, 2.0, 2.0]) == 0.0
    assert robust_rel_err([5.0]) is None


def test_round_statistics():
    medians, minima = (3.0, 1.0, 2.0, 10.0, 2.0), (1.0, 0.5, 1.0, 9.0, 1.0)
    value = {
        stat: RoundStats(medians, minima, 25, stat).value
        for stat in ('median_of_medians', 'median_of_minima', 'min_of_medians',
                     'min_of_minima')
    }
    assert value == dict(
        median_of_medians=2.0,
        median_of_minima=1.0,
        min_of_medians=1.0,
        min_of_minima=0.5)
    stats = RoundStats(medians, minima, 25, 'median_of_medians')
    # deviations from 2: 1, 1, 0, 8, 0 -> MAD 1
    assert stats.rel_err == pytest.approx(
        MEDIAN_SE / math.sqrt(5) / 2, rel=1e-6)
    assert not stats.agrees(0.4) and stats.agrees(0.5)
    # a minimum is confirmed when a second round comes close to it:
    # minima 0.5 and next 1.0 -> 100 % apart; medians 1 and 2 -> 100 %
    assert RoundStats(medians, minima, 25, 'min_of_minima').rel_err == 1.0
    assert RoundStats(medians, minima, 25, 'min_of_medians').rel_err == 1.0
    floor = RoundStats((9.0, 9.0, 9.0, 9.0), (0.8, 0.5, 0.51, 0.9), 20)
    assert floor.statistic == 'min_of_minima'  # the default
    assert floor.value == 0.5 and floor.rel_err == pytest.approx(0.02)
    assert floor.agrees(0.05) and not floor.agrees(0.01)
    assert not RoundStats((1.0, ), (1.0, ), 3).agrees(10.0)  # one round
    with pytest.raises(ValueError, match='statistic must be one of'):
        RoundStats(medians, minima, 25, 'mean')
    with pytest.raises(ValueError, match='as many minima'):
        RoundStats((1.0, 2.0), (1.0, ), 4)


def test_round_stats_from_results_and_extend():
    stats = RoundStats.from_results(
        [TimingResult((3, 1, 2)).to('ms'),
         TimingResult((7, 4, 5, 6)).to('ms')])
    assert stats.medians == (2e3, 5.5e3) and stats.minima == (1e3, 4e3)
    stats = RoundStats.from_results(ms_rounds([[30, 10, 20], [70, 40, 50,
                                                                60]]))
    assert stats.medians == (20.0, 55.0) and stats.minima == (10.0, 40.0)
    assert stats.count == 7 and stats.rounds == 2
    more = stats.extend(RoundStats.from_results(ms_rounds([[1.0]])))
    assert more.medians == (20.0, 55.0, 1.0) and more.count == 8


def scripted(values):
    """A ``run`` that gives key k the next of ``values[k]`` each round (one
    sample per round), and logs which keys each call measured."""
    log, pos = [], {k: 0 for k in values}

    def run(keys, n):
        log.append((list(keys), n))
        out = {}
        for k in keys:
            out[k] = ms_rounds([[values[k][pos[k] + i]] for i in range(n)])
            pos[k] += n
        return out

    return run, log


def test_measure_until_agreed_remeasures_only_disagreeing_keys():
    run, log = scripted(
        dict(
            steady=[1.0] * 10,
            settles=[1.0, 2.0, 4.0, 2.0, 2.0, 2.0],
            drifts=[float(v) for v in range(1, 11)]))
    result = measure_until_agreed(
        run, ['steady', 'settles', 'drifts'],
        rounds=3,
        tolerance=0.05,
        extra_rounds=4,
        statistic='median_of_medians')
    # settles: [1, 2, 4] (MAD 1), + 2 (MAD 0.5), + 2 -> MAD 0: agrees
    # drifts: 1..7 keeps a MAD of 2 around 4
    assert log == [(['steady', 'settles', 'drifts'], 3),
                   (['settles', 'drifts'], 1), (['settles', 'drifts'], 1),
                   (['drifts'], 1), (['drifts'], 1)]
    assert result.extra_rounds == dict(settles=2, drifts=4)
    assert result.stats['settles'].value == 2.0
    assert result.stats['drifts'].medians == tuple(map(float, range(1, 8)))
    assert result.stats['drifts'].rel_err == pytest.approx(
        MEDIAN_SE * 2 / math.sqrt(7) / 4, rel=1e-6)
    assert result.disagreeing(0.05) == ['drifts']


def test_a_minimum_is_remeasured_until_a_second_round_confirms_it():
    run, log = scripted(
        dict(
            floor_twice=[1.0, 0.5, 0.52, 0.9],
            floor_once=[1.0, 0.5, 1.0, 0.51, 0.7],
            falling=[1.0, 0.9, 0.8, 0.7, 0.6, 0.5]))
    result = measure_until_agreed(
        run, ['floor_twice', 'floor_once', 'falling'],
        rounds=3,
        tolerance=0.05,
        extra_rounds=3)
    assert log == [(['floor_twice', 'floor_once', 'falling'], 3),
                   (['floor_once', 'falling'], 1), (['falling'], 1),
                   (['falling'], 1)]
    assert result.extra_rounds == dict(floor_once=1, falling=3)
    assert result.stats['floor_once'].value == 0.5
    assert result.stats['falling'].value == 0.5
    assert result.disagreeing(0.05) == ['falling']


def test_measure_until_agreed_extends_prior_rounds():
    run, _ = scripted(dict(a=[5.0, 5.0]))
    prior = dict(a=RoundStats((1.0, 9.0), (1.0, 9.0), 2, 'median_of_medians'))
    result = measure_until_agreed(
        run, ['a'], 2, 0.05, statistic='median_of_medians', prior=prior)
    assert result.stats['a'].medians == (1.0, 9.0, 5.0, 5.0)
    assert result.stats['a'].value == 5.0 and result.stats['a'].count == 4
