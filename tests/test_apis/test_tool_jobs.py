"""The tools' jobs called as functions, with keyword arguments: what they
return, write and refuse (the tools' own tests run them via ``main``)."""
import pytest

import densenas_mm  # noqa: F401
from densenas_mm.apis.cli import ToolOutput, emit
from densenas_mm.apis.latency_check import check_latency, load_audit_arch
from densenas_mm.apis.random_arch import out_paths, write_random_archs
from densenas_mm.apis.space_info import space_info
from densenas_mm.search_space import SpaceGraph, load_preset
from densenas_mm.structures import DerivedArch
from densenas_mm.structures.published import DENSENAS_C

SEARCH_CFG = 'configs/densenas/densenas_supernet-demo_1xb32-20e_digits.py'
MBV2_SPACE = 'configs/_base_/search_spaces/densenas_mbv2_224.py'
REF_LUT = 'resources/latency/densenas_mbv2_224_ref_b32.json'


def test_emit_prints_and_returns_or_raises_the_status(capsys):
    assert emit(ToolOutput(0, 'a', 'b', result=3)) == 0
    assert capsys.readouterr() == ('a\n', 'b\n')
    assert emit(ToolOutput(2, err='skipped')) == 2
    with pytest.raises(SystemExit) as exc:
        emit(ToolOutput(1, 'MISMATCH'), exit_on_error=True)
    assert exc.value.code == 1
    assert capsys.readouterr().out == 'MISMATCH\n'


def test_space_info_of_the_paper_space():
    text = space_info(MBV2_SPACE, no_params=True, blocks=True)
    lines = text.splitlines()
    assert lines[0].startswith('search space: densenas_mbv2_224')
    for line in ('  blocks: 16', '  edges: 54', '  head branches: 51',
                 '  stacking layers: 39', '  paths: 15,456'):
        assert line in lines
    # header, 2 op lines, 6 counts, block header, one row per graph node
    nodes = SpaceGraph(load_preset('densenas_mbv2_224')).nodes
    assert len(lines) == 3 + 6 + 1 + len(nodes) and len(nodes) >= 16
    assert 'supernet parameters' not in text


def test_random_archs_are_written_and_seeded(tmp_path):
    assert out_paths('a.yaml', 1) == ['a.yaml']
    assert out_paths('a.yaml', 2) == ['a_0.yaml', 'a_1.yaml']
    out = str(tmp_path / 'r.yaml')
    text = write_random_archs(SEARCH_CFG, out, seed=3, count=2)
    assert text.count('wrote ') == 2
    first = DerivedArch.load(str(tmp_path / 'r_0.yaml'))
    assert first.meta['random_seed'] == 3
    again = write_random_archs(SEARCH_CFG, str(tmp_path / 's.yaml'), seed=3)
    assert DerivedArch.load(str(tmp_path / 's.yaml')).to_net_config() == \
        first.to_net_config()
    assert again.splitlines()[0] == text.splitlines()[0]
    with pytest.raises(ValueError, match='--match needs --lut'):
        write_random_archs(SEARCH_CFG, out, match=str(tmp_path / 'r_0.yaml'))


def test_latency_check_refuses_a_mode_without_its_inputs():
    with pytest.raises(ValueError, match='--densenas-c'):
        check_latency(REF_LUT)
    with pytest.raises(ValueError, match='--random needs --config'):
        check_latency(REF_LUT, random=2)
    arch = load_audit_arch(densenas_c=True, num_classes=100)
    assert arch.num_classes == 100
    assert arch.to_net_config() == DerivedArch.load(DENSENAS_C).to_net_config()


def test_conversion_summary_lists_keys_when_verbose():
    from densenas_mm.apis.conversion import ConversionReport
    report = ConversionReport(['a', 'b'], {'no supernet twin': ['c', 'd']}, 5)
    short = report.summary()
    assert short.splitlines() == [
        'inherited 2 tensors from the supernet (5 supernet tensors unused)',
        're-initialised 2 tensors (no supernet twin)'
    ]
    assert report.summary(verbose=True).splitlines()[2:] == [
        'no supernet twin:', '  c', '  d'
    ]
