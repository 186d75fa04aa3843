"""Import of the DenseNAS reference latency lists."""
import math
import re
from pathlib import Path

import pytest

import densenas_mm  # noqa: F401
from densenas_mm.latency import (LatencyTable, LatencyTableError, OpSignature,
                                 import_reference, space_ops)
from densenas_mm.models.estimators import ChainedLatencyEstimator
from densenas_mm.search_space import search_space_from_cfg
from densenas_mm.structures.published import DENSENAS_C
from densenas_mm.structures import DerivedArch
from helpers.tools import load_tool

REPO = Path(__file__).resolve().parents[2]
# the paper's lists, shipped with the project (resources/latency/README.md)
REF = REPO / 'resources' / 'latency'
MBV2 = REF / 'lat_list_densenas_mbv2_xp32'
RESNET = REF / 'lat_list_resv2_32'


def space(name):
    return search_space_from_cfg(
        str(REPO / f'configs/_base_/search_spaces/{name}.py'))


@pytest.fixture(scope='module')
def mbv2():
    return import_reference(MBV2.read_text(), space('densenas_mbv2_224'))


def sig(op, c_in, c_out, stride, size):
    return OpSignature(op, c_in, c_out, stride, size, size, 32)


def test_mbv2_table_is_consumed_fully(mbv2):
    table, report = mbv2
    assert report.scalars == 647  # as the data README says
    assert (report.used, report.ignored) == (584, 63)  # blocks 14-16 rows
    # 1 stem + 51*6 heads + 13*7 stacking + 3 terminal + 1 classifier.
    assert report.entries == len(table) == 402 and report.skip_entries == 13
    table.require(
        space_ops(space('densenas_mbv2_224'), batch_size=32).unique(),
        'the paper space')
    meta = table.metadata
    assert meta['device'] == 'TITAN-Xp (reference table)'
    assert meta['batch_size'] == 32 and meta['imported'] is True


def test_mbv2_values_land_on_the_right_keys(mbv2):
    table, _ = mbv2
    assert table.latency(sig('stem+mbconv_k3_t1', 3, 16, 2, 224)) == \
        2.130230027015763
    assert table.latency(sig('mbconv_k3_t3', 16, 24, 2, 112)) == \
        2.0424278577168784
    # Block 3: first head row is from node 2 (nearest), then from node 1.
    assert table.latency(sig('mbconv_k3_t3', 32, 40, 1, 28)) == \
        0.47651384816025244
    assert table.latency(sig('mbconv_k3_t3', 24, 40, 2, 56)) == \
        0.7290506122088192
    rows = [1.6153342073613948, 1.6315834690826108, 1.6260789139102203]
    entry = table.entry(sig('mbconv_k3_t3', 24, 24, 1, 56))
    assert entry['count'] == 3
    assert entry['mean'] == pytest.approx(sum(rows) / 3, rel=1e-15)
    assert table.latency(sig('conv1_1', 384, 1984, 1, 7)) == \
        0.3001111926454486
    assert table.latency(sig('classifier', 1984, 100, 1, 7)) == \
        0.4041198769001046


def test_densenas_c_cost_from_the_imported_table(mbv2):
    table, _ = mbv2
    est = ChainedLatencyEstimator(lut=table, target_device=None, batch_size=32)
    arch = DerivedArch.from_net_config(DENSENAS_C, num_classes=100)
    result = est.estimate(arch)
    assert math.isfinite(result['latency']) and result['latency'] > 0
    # Published TITAN-Xp latency of DenseNAS-C: 17.9 ms.
    assert result['latency'] == pytest.approx(17.9, abs=0.1)
    with pytest.raises(
            LatencyTableError, match=re.escape('classifier|c1984-1000|')):
        est.estimate(DerivedArch.from_net_config(DENSENAS_C))


def test_skip_entries_are_costed_as_measured(mbv2):
    """The reference costs a skip layer with its measured entry."""
    table, _ = mbv2
    est = ChainedLatencyEstimator(lut=table, target_device=None)
    costs = est.bind(space('densenas_mbv2_224'))
    skip = table.entry(sig('skip_connect', 24, 24, 1, 56))['mean']
    assert 0.003 < skip < 0.006  # about 0.004 ms on TITAN-Xp
    assert costs.stacks['b01_layer0'][6] == skip
    assert all(0.003 < row[6] < 0.006 for row in costs.stacks.values())
    # skip_reg still replaces it by the layer's first op / 10
    reg = ChainedLatencyEstimator(lut=table, target_device=None,
                                  skip_reg=True).bind(
                                      space('densenas_mbv2_224'))
    assert reg.stacks['b01_layer0'][6] == pytest.approx(
        costs.stacks['b01_layer0'][0] / 10)


def test_densenas_c_path_costs_the_reference_estimate(mbv2):
    """The reference's own chained cost of DenseNAS-C is 18.01 ms (method
    doc 3, kept ops in the first stacking layers: 18.012); the keyed table
    merges the three stacking rows of a block, which moves it by 0.005 ms."""
    table, _ = mbv2
    est = ChainedLatencyEstimator(lut=table, target_device=None, batch_size=32)
    arch = DerivedArch.from_net_config(DENSENAS_C, num_classes=100)
    mbv2_space = space('densenas_mbv2_224')
    searched = est.path_cost(arch, mbv2_space)
    assert searched == pytest.approx(18.01, abs=0.01)
    # the difference to the derived net (which has no skip layers): the 7
    # skipped layers of the path (3 + 2 + 1 + 1 in blocks 24, 48, 72, 128)
    skips = [(24, 56, 3), (48, 28, 2), (72, 14, 1), (128, 14, 1)]
    skip_ms = sum(n * table.latency(sig('skip_connect', c, c, 1, hw))
                  for c, hw, n in skips)
    assert searched - est.estimate(arch)['latency'] == pytest.approx(
        skip_ms, abs=1e-9)
    assert 0.025 < skip_ms < 0.04


def test_resnet_table():
    table, report = import_reference(
        RESNET.read_text(),
        space('densenas_resnet_224'),
        device='unknown GPU (reference table)')
    assert report.scalars == report.used == 315 and report.ignored == 0
    assert report.entries == 123 and report.skip_entries == 17
    table.require(
        space_ops(space('densenas_resnet_224'), batch_size=32).unique(),
        'the ResNet space')
    assert table.latency(sig('stem', 3, 32, 2, 224)) == 0.7470053614992084


def test_mismatched_space_and_unsafe_text_are_rejected():
    with pytest.raises(LatencyTableError, match='has 16 blocks'):
        import_reference(MBV2.read_text(), space('densenas_resnet_224'))
    with pytest.raises(LatencyTableError, match='not a literal nested list'):
        import_reference("__import__('os').getcwd()",
                         space('densenas_mbv2_224'))


def test_command_line(tmp_path, capsys):
    tool = load_tool('analysis/import_reference_lut.py')
    out = tmp_path / 'ref.json'
    assert tool.main([str(MBV2), '--out', str(out)]) == 0
    assert '647 scalar entries consumed: 584 mapped, 63 ignored' in \
        capsys.readouterr().out
    assert len(LatencyTable.load(str(out))) == 402
    assert tool.main([str(MBV2), '--out',
                      str(out), '--num-classes', '1000']) == 0
    assert LatencyTable.load(str(out)).latency(
        sig('classifier', 1984, 1000, 1, 7)) == 0.4041198769001046
