"""A table its build marked noisy is refused by the estimator and so by the
search, unless ``allow_noisy_lut=True``; the message carries the reason."""
import pytest
from helpers.search import build_algorithm
from helpers.timings import ms_rounds

import densenas_mm  # noqa: F401
from densenas_mm.latency import (LatencyTableError, LatencyTableWarning,
                                 build_latency_table)
from densenas_mm.registry import TASK_UTILS
from densenas_mm.search_space import load_preset


def _never_agree(sigs, device, act, rounds, **timing):
    """Stand-in timings: rounds of 1, 2, 4, 8 ms, then again, so no entry's
    rounds agree."""
    cycle = [1.0, 2.0, 4.0, 8.0]
    return {
        s.key: ms_rounds([[cycle[i % 4]] for i in range(rounds)])
        for s in sigs
    }


@pytest.fixture(scope='module')
def noisy_lut(tmp_path_factory):
    out = str(tmp_path_factory.mktemp('lut') / 'noisy.json')
    _, report = build_latency_table(
        load_preset('densenas_demo_32'),
        out=out,
        rounds=4,
        extra_rounds=1,
        statistic='median_of_medians',
        progress=False,
        measure=_never_agree)
    assert report.quality['status'] == 'noisy' and len(report.noisy) == 46
    return out


def estimator_cfg(lut, **kwargs):
    return dict(
        type='densenas_mm.ChainedLatencyEstimator',
        lut=lut,
        target_device=None,
        **kwargs)


def test_noisy_table_is_refused_with_the_reason(noisy_lut):
    with pytest.raises(LatencyTableError) as err:
        TASK_UTILS.build(estimator_cfg(noisy_lut))
    msg = str(err.value)
    assert f'latency table {noisy_lut} is marked noisy' in msg
    assert '46 of 46 entries (100 %) kept rounds that disagree' in msg
    assert 'robust relative standard error of the rounds above 5 %' in msg
    assert 'at most 10 % are allowed' in msg
    assert 'model.estimator.allow_noisy_lut=True' in msg


def test_override_uses_it_with_a_warning(noisy_lut):
    with pytest.warns(LatencyTableWarning, match='marked noisy.*used anyway'):
        est = TASK_UTILS.build(estimator_cfg(noisy_lut, allow_noisy_lut=True))
    # rounds 1, 2, 4, 8, 1: the median of the round medians
    assert {e['latency'] for e in est.table.entries.values()} == {2.0}


def test_the_search_refuses_it_before_training(noisy_lut):
    with pytest.raises(LatencyTableError, match='is marked noisy'):
        build_algorithm(lut=noisy_lut)
    with pytest.warns(LatencyTableWarning, match='used anyway'):
        algo = build_algorithm(
            estimator=dict(
                type='densenas_mm.ChainedLatencyEstimator',
                lut=noisy_lut,
                metric='latency',
                allow_noisy_lut=True))
    # every op costs 2 ms: stem, >= 1 head, terminal 1x1, classifier
    assert float(algo.expected_cost()) >= 2 * 4
