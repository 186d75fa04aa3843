"""A latency table of another batch size, dtype or memory format than the
run is warned about (or refused) by what it is."""
import warnings

import pytest

from densenas_mm.latency import LatencyTableError, LatencyTableWarning
from densenas_mm.models.estimators import ChainedLatencyEstimator
from densenas_mm.registry import TASK_UTILS
from densenas_mm.search_space import SearchSpace
from helpers.estimators import DEMO, synthetic_table

RUN = dict(batch_size=32, dtype='float32', memory_format='contiguous')


@pytest.fixture(scope='module')
def space():
    return SearchSpace.from_config(DEMO)


# (table setting, messages)
CASES = [
    (dict(batch_size=64), ['measured at batch size 64 but is used for batch '
                           'size 32', '--batch-size 32']),
    (dict(dtype='bfloat16'), ['measured at dtype bfloat16 but is used for '
                              'dtype float32', '--dtype float32']),
    (dict(memory_format='channels_last'), [
        'measured at memory format channels_last but is used for memory '
        'format contiguous', 'without --channels-last'
    ]),
]


@pytest.mark.parametrize('setting, fragments', CASES,
                         ids=[next(iter(c[0])) for c in CASES])
def test_mismatch_is_warned_by_what_it_is(space, setting, fragments):
    table = synthetic_table(space, **dict(RUN, **setting))
    est = ChainedLatencyEstimator(lut=table, target_device=None)
    with pytest.warns(LatencyTableWarning) as record:
        msgs = est.check_setting(**RUN)
    assert len(msgs) == 1 == len(record)
    for fragment in fragments:
        assert fragment in msgs[0]
    key = next(iter(setting))
    assert f"set the estimator's {key}={setting[key]!r}" in msgs[0]


def test_all_three_at_once_and_a_matching_table(space):
    table = synthetic_table(space, batch_size=64, dtype='bfloat16',
                            memory_format='channels_last')
    est = ChainedLatencyEstimator(lut=table, target_device=None)
    with pytest.warns(LatencyTableWarning):
        assert len(est.check_setting(**RUN)) == 3
    same = ChainedLatencyEstimator(
        lut=synthetic_table(space, **RUN), target_device=None)
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        assert same.check_setting(**RUN) == []


def test_explicit_target_overrides_the_run(space):
    """``batch_size=64`` says the costs are meant for batch 64: a batch-64
    table is then right for a batch-32 search, and checked at build."""
    table = synthetic_table(space, batch_size=64)
    est = ChainedLatencyEstimator(
        lut=table, target_device=None, batch_size=64)
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        assert est.check_setting(**RUN) == []
    with pytest.warns(LatencyTableWarning, match='used for batch size 8'):
        ChainedLatencyEstimator(lut=table, target_device=None, batch_size=8)


def test_on_mismatch_error_refuses(space):
    table = synthetic_table(space, batch_size=64, dtype='bfloat16')
    est = ChainedLatencyEstimator(
        lut=table, target_device=None, on_mismatch='error')
    with pytest.raises(LatencyTableError) as err:
        est.check_setting(**RUN)
    assert 'batch size 64' in str(err.value) and 'bfloat16' in str(err.value)
    assert "on_mismatch='error'" in str(err.value)
    with pytest.raises(ValueError, match="on_mismatch must be 'warn' or"):
        ChainedLatencyEstimator(lut=table, on_mismatch='ignore')


def test_flops_estimator_has_nothing_to_check():
    assert ChainedLatencyEstimator(metric='flops').check_setting(**RUN) == []


def test_every_flat_estimator_key_maps_onto_its_setting():
    """Every keyword that configured the estimator before its settings were
    grouped still does, and lands in the right field."""
    from densenas_mm.models.estimators.estimator_settings import (
        FLAT_KEYS, ModuleCounting, TableTarget)
    values = dict(
        target_device=None,
        batch_size=16,
        dtype='float16',
        memory_format='channels_last',
        on_mismatch='error',
        allow_noisy_lut=True,
        input_shape=(2, 3, 32, 32),
        units=dict(flops='G', params='K', latency='ms'),
        as_strings=True,
        flops_params_cfg=dict(input_shape=(1, 3, 32, 32)),
        latency_cfg=dict(warmup=1))
    assert set(values) == set(FLAT_KEYS)
    est = TASK_UTILS.build(
        dict(type='densenas_mm.ChainedLatencyEstimator', metric='flops',
             **values))
    assert est.target == TableTarget(None, 16, 'float16', 'channels_last',
                                     'error', True)
    # mmrazor's ResourceEstimator got its arguments
    assert est.input_shape == (2, 3, 32, 32) and est.as_strings
    assert est.units['flops'] == 'G' and est.units['params'] == 'K'
    assert est.flops_params_cfg == dict(input_shape=(1, 3, 32, 32))
    assert est.latency_cfg == dict(warmup=1)
    # grouped, the same settings
    grouped = TASK_UTILS.build(
        dict(type='densenas_mm.ChainedLatencyEstimator', metric='flops',
             target=dict(device=None, batch_size=16, dtype='float16',
                         memory_format='channels_last', on_mismatch='error',
                         allow_noisy=True),
             counting=ModuleCounting(input_shape=(2, 3, 32, 32))))
    assert grouped.target == est.target
    assert grouped.input_shape == (2, 3, 32, 32)
    default = TASK_UTILS.build(
        dict(type='densenas_mm.ChainedLatencyEstimator', metric='flops'))
    assert default.target == TableTarget() and default.target.device == 'auto'
    assert default.input_shape == (1, 3, 224, 224)
    assert default.units == dict(flops='M', params='M', latency='ms')


@pytest.mark.parametrize('kwargs, match', [
    (dict(target_devices=None), r"unexpected argument\(s\) \['target_dev"),
    (dict(target=dict(gpu=1)), r"target has unknown field\(s\) \['gpu'\]"),
    (dict(target=3), 'target must be a TableTarget or a dict'),
    (dict(batch_size=8, target=dict(batch_size=8)),
     'batch_size is given both as a keyword and as target.batch_size'),
    (dict(counting=dict(units={}), units={}), 'units is given both'),
])
def test_bad_estimator_keywords(kwargs, match):
    with pytest.raises(TypeError, match=match):
        TASK_UTILS.build(
            dict(type='densenas_mm.ChainedLatencyEstimator', metric='flops',
                 **kwargs))
