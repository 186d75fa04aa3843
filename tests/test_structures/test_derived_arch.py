"""DerivedArch: net_config round trip, YAML round trip, validation."""
import pytest
import yaml

from densenas_mm.structures import ARCH_KEY, ArchError, DerivedArch
from densenas_mm.structures.published import DENSENAS_C


def test_densenas_c_parses_into_documented_structure():
    arch = DerivedArch.from_net_config(DENSENAS_C.replace('|', '|\n'))
    assert arch.family == 'mbv2'
    assert arch.stem_channels == 16 and arch.stem_ops == ['mbconv_k3_t1']
    assert arch.last_dim == 1984 and arch.out_channels == 1984
    assert len(arch.blocks) == 7
    assert [b.c_out for b in arch.blocks] == [24, 48, 72, 128, 160, 176, 384]
    assert [b.stride for b in arch.blocks] == [2, 2, 2, 1, 2, 1, 1]
    assert [len(b.stack_ops) for b in arch.blocks] == [0, 1, 2, 2, 3, 3, 0]
    assert arch.blocks[2].head_op == 'mbconv_k5_t6'
    assert arch.to_net_config() == DENSENAS_C


def test_the_text_reader_knows_entries_not_nets():
    from densenas_mm.structures.net_config import (format_net_config,
                                                   parse_net_config)
    net = parse_net_config(DENSENAS_C)
    assert (net.family, net.stem_channels, net.last_dim) == ('mbv2', 16, 1984)
    assert net.stem_ops == ['mbconv_k3_t1']
    assert len(net.blocks) == 7
    assert net.blocks[2] == (48, 72, 'mbconv_k5_t6',
                             ['mbconv_k3_t6', 'mbconv_k3_t3'], 2)
    assert format_net_config(net.stem_channels, net.stem_ops, net.blocks,
                             net.last_dim) == DENSENAS_C
    # without the terminal conv the last entry is a block
    short = parse_net_config("[[8, 16], 'basic_block', [], 0, 2]")
    assert short.last_dim is None and short.blocks == [
        (8, 16, 'basic_block', [], 2)]


def test_resnet_net_config_round_trip():
    text = ("[[32, 48], 'basic_block', [], 0, 2]|"
            "[[48, 72], 'basic_block', ['basic_block'], 1, 2]|"
            "[[72, 128], 'basic_block', ['basic_block', 'basic_block'], 2, 2]")
    arch = DerivedArch.from_net_config(text)
    assert arch.family == 'resnet' and arch.last_dim is None
    assert arch.stem_ops == [] and arch.stem_channels == 32
    assert arch.out_channels == 128 and arch.act == 'relu'
    assert arch.to_net_config() == text


def test_yaml_round_trip_and_fix_subnet_entries(tmp_path):
    arch = DerivedArch.from_net_config(DENSENAS_C)
    arch.fix_subnet = {'route00': 'to01', 'b01_head_from00': 'mbconv_k3_t6'}
    arch.meta = {'epoch': 3, 'latency': 17.9}
    path = tmp_path / 'arch.yaml'
    arch.dump(str(path))
    data = yaml.safe_load(path.read_text())
    assert data['route00'] == {'chosen': 'to01'}
    assert data[ARCH_KEY]['net_config'] == DENSENAS_C
    assert oct(path.stat().st_mode & 0o777) != '0o600'
    again = DerivedArch.load(str(path))
    assert again == arch


@pytest.mark.parametrize('text, message', [
    ("[[16, 24], 'mbconv_k3_t6', [], 0, 2]|[[32, 48], 'mbconv_k3_t6', [], "
     "0, 2]|[[48, 64], 'conv1_1']", 'widths do not chain: block 1 takes 32'),
    ("[[16, 24], 'mbconv_k4_t6', [], 0, 2]|[[24, 64], 'conv1_1']",
     "unknown op 'mbconv_k4_t6'"),
    ("[[16, 24], 'mbconv_k3_t6', [], 0, 2]", 'needs its terminal'),
    ("[[16, 24], 'mbconv_k3_t6', ['mbconv_k3_t3'], 2, 2]|[[24, 64], "
     "'conv1_1']", 'N_STACK equal to'),
    ("[[16, 24], 'mbconv_k3_t6', ['skip_connect'], 1, 2]|[[24, 64], "
     "'conv1_1']", 'skip_connect must be dropped'),
    ("[[16, 24], 'basic_block', ['mbconv_k3_t3'], 1, 2]",
     "does not belong to a resnet net"),
    ("[[16, 24], 'mbconv_k3_t6', [], 0, 2]|__import__('os')",
     'is not a literal list'),
    ('', 'empty net_config'),
])
def test_bad_net_configs(text, message):
    with pytest.raises(ArchError, match=message.replace('(', r'\(')):
        DerivedArch.from_net_config(text)


def test_bad_files(tmp_path):
    with pytest.raises(ArchError, match='does not exist'):
        DerivedArch.load(str(tmp_path / 'missing.yaml'))
    path = tmp_path / 'x.yaml'
    path.write_text('route00: {chosen: to01}\n')
    with pytest.raises(ArchError, match='no .densenas_arch. section'):
        DerivedArch.load(str(path))
    arch = DerivedArch.from_net_config(DENSENAS_C).to_dict()
    arch[ARCH_KEY]['blocks'][1]['c_out'] = 50
    with pytest.raises(ArchError, match='widths do not chain'):
        DerivedArch.from_dict(arch)
    arch = DerivedArch.from_net_config(DENSENAS_C).to_dict()
    arch[ARCH_KEY]['net_config'] = arch[ARCH_KEY]['net_config'].replace(
        'k7', 'k5')
    with pytest.raises(ArchError, match='edited inconsistently'):
        DerivedArch.from_dict(arch)
    arch[ARCH_KEY]['format_version'] = 99
    with pytest.raises(ArchError, match='format_version 99'):
        DerivedArch.from_dict(arch)
