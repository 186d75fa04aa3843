"""The latency-table path of the algorithm: a tiny table built with
``build_latency_table`` (stand-in timings so the fixture takes no time),
a table that lacks an entry failing at build time, before any training."""
import json

import pytest
import torch
from helpers.search import build_algorithm, build_optim, fake_batch
from helpers.timings import crc_measure

from densenas_mm.latency import build_latency_table
from densenas_mm.latency.schema import LatencyTableError
from densenas_mm.models.algorithms import search_batch
from densenas_mm.search_space import load_preset


@pytest.fixture(scope='module')
def tiny_lut(tmp_path_factory):
    out = str(tmp_path_factory.mktemp('lut') / 'demo_fake.json')
    table, report = build_latency_table(
        load_preset('densenas_demo_32'),
        device='cpu',
        batch_size=32,
        out=out,
        progress=False,
        measure=crc_measure)
    assert report.needed == len(table) > 10
    return out


def test_arch_step_with_latency_table(tiny_lut):
    torch.set_num_threads(1)
    algo = build_algorithm(lut=tiny_lut)
    optim = build_optim(algo)
    logs = algo.train_step(search_batch(fake_batch(), 'arch', 3), optim)
    expected = float(logs['arch_expected_cost'])
    assert 0.05 < expected < 200
    # all-ops expectation is a latency in ms as well
    assert algo.expected_cost() > 0


def test_table_missing_an_entry_fails_at_build(tiny_lut, tmp_path):
    with open(tiny_lut) as f:
        data = json.load(f)
    key = sorted(data['entries'])[len(data['entries']) // 2]
    del data['entries'][key]
    broken = str(tmp_path / 'broken.json')
    with open(broken, 'w') as f:
        json.dump(data, f)
    with pytest.raises(LatencyTableError) as info:
        build_algorithm(lut=broken)
    assert key in str(info.value)
    assert 'lacks 1 of' in str(info.value)
    assert info.value.missing == [key]


def test_cost_loss_without_estimator_is_rejected():
    with pytest.raises(ValueError, match='cost_loss needs an estimator'):
        build_algorithm(estimator=None)
