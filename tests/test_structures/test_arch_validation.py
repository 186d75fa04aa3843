"""Catalogue of bad architecture files: each is refused with a message that
names the field, the value and what is allowed.

The base file is the architecture the derivation writes for the path
0-1-2-4-6-terminal of the demo space (``densenas_demo_32``), with the space
embedded. Every case edits it as a user (or a crash) could, writes it as
YAML and builds ``DenseNASNet`` through the registry with the backbone
settings of ``configs/densenas/subnets/densenas_subnet-demo_1xb32-10e_digits.py``
(its space preset, ``num_classes=10``, ``input_size=32``). Cases marked
``resync`` also rewrite the file's ``net_config`` so that the file is
self-consistent and only the search-space check can catch it.
"""
import copy
import re

import pytest
import yaml
from mmengine.config import Config
from mmengine.registry import DefaultScope

import densenas_mm  # noqa: F401
from densenas_mm.models.backbones import DenseNASNet, check_head_fits
from densenas_mm.registry import MODELS
from densenas_mm.search_space import SpaceGraph, load_preset
from densenas_mm.structures import (ARCH_KEY, DENSENAS_C, ArchError,
                                    DerivedArch, check_arch_in_space,
                                    derive_arch)

from helpers import REPO_ROOT

SUBNET_CFG = (f'{REPO_ROOT}/configs/densenas/subnets/'
              'densenas_subnet-demo_1xb32-10e_digits.py')
PATH = [0, 1, 2, 4, 6, 7]


def base_arch() -> DerivedArch:
    space = load_preset('densenas_demo_32')
    return derive_arch(space, SpaceGraph(space), {}, path=PATH)


def first_path_arch(preset: str) -> DerivedArch:
    """The architecture along the first outgoing edge of every node."""
    space = load_preset(preset)
    graph = SpaceGraph(space)
    path = [0]
    while path[-1] != graph.terminal:
        path.append(graph.outgoing[path[-1]][0])
    return derive_arch(space, graph, {}, path=path)


def base_file() -> dict:
    return base_arch().to_dict()


def backbone_cfg() -> dict:
    """The digits subnet config's backbone (space, classes, input size)."""
    return Config.fromfile(SUBNET_CFG).model.backbone.to_dict()


def build(arch, **overrides):
    if DefaultScope.get_current_instance() is None:
        DefaultScope.get_instance('arch_validation_tests', scope_name='mmcls')
    cfg = dict(backbone_cfg(), arch=arch, **overrides)
    return MODELS.build(cfg)


def resync(data: dict) -> dict:
    """Rewrite ``net_config`` from the (edited) blocks."""
    body = data[ARCH_KEY]
    fields = {
        k: v
        for k, v in body.items() if k not in ('format_version', 'net_config')
    }
    body['net_config'] = DerivedArch(**fields).to_net_config()
    return data


def block(data, i):
    return data[ARCH_KEY]['blocks'][i]


def set_(key, value):
    return lambda d: d[ARCH_KEY].__setitem__(key, value)


def set_block(i, **values):
    return lambda d: block(d, i).update(values)


def drop_block(i):

    def edit(d):
        body = d[ARCH_KEY]
        body['blocks'].pop(i)
        nxt = body['blocks'][i] if i < len(body['blocks']) else None
        if nxt is not None:
            prev = body['blocks'][i - 1]
            nxt.update(c_in=prev['c_out'], src=prev['node'])
        body['path'] = [0] + [b['node'] for b in body['blocks']] + [7]

    return edit


def every_stride_one(d):
    d[ARCH_KEY]['stem_stride'] = 1
    for b in d[ARCH_KEY]['blocks']:
        b['stride'] = 1


def set_fix(alias, chosen):
    return lambda d: d.__setitem__(alias, dict(chosen=chosen))


def spec_edit(key, value):
    return lambda d: d[ARCH_KEY]['search_space'].__setitem__(key, value)


def combo(*edits):

    def edit(d):
        for e in edits:
            e(d)

    return edit


# (id, edit, resync, message fragments)
CASES = [
    # ---------------------------------------------- wrong types and ranges
    ('c_out_str', set_block(0, c_out='12'), False,
     ["block 0 (node 1): c_out must be an int >= 1, got '12' (str)"]),
    ('c_out_bool', set_block(0, c_out=True), False,
     ['c_out must be an int >= 1, got True (bool)']),
    ('stem_channels_float', set_('stem_channels', 8.0), False,
     ['stem_channels must be an int >= 1, got 8.0 (float)']),
    ('stride_str', set_block(1, stride='2'), False,
     ["stride must be one of [1, 2], got '2' (str)"]),
    ('stride_3', set_block(1, stride=3), False,
     ['stride must be one of [1, 2], got 3 (int)']),
    ('head_op_int', set_block(0, head_op=5), False,
     ['head_op must be a string, got 5 (int)']),
    ('stack_ops_str', set_block(0, stack_ops='mbconv_k3_t3'), False,
     ["stack_ops must be a list, got 'mbconv_k3_t3' (str)"]),
    ('layer_ids_float', set_block(0, layer_ids=[0.0]), False,
     ['layer_ids[0] must be an int >= 0, got 0.0 (float)']),
    ('act_unknown', set_('act', 'swish'), False,
     ["act must be one of ['relu', 'relu6'], got 'swish'"]),
    ('family_unknown', set_('family', 'vgg'), False,
     ["family must be one of ['mbv2', 'resnet'], got 'vgg'"]),
    ('input_size_str', set_('input_size', '32'), False,
     ["input_size must be an int >= 1, got '32' (str)"]),
    ('num_classes_negative', set_('num_classes', -1), False,
     ['num_classes must be an int >= 1, got -1 (int)']),
    ('path_str', set_('path', 'abc'), False,
     ["path must be a list, got 'abc' (str)"]),
    ('blocks_not_list', set_('blocks', 'abc'), False,
     ['blocks must be a list, got str']),
    ('block_not_mapping', lambda d: d[ARCH_KEY]['blocks'].__setitem__(0, 3),
     False, ['block 0 must be a mapping']),
    ('block_unknown_key', set_block(0, kernel=3), False,
     ["block 0: unknown keys ['kernel']"]),
    ('section_unknown_key', set_('colour', 'red'), False,
     ["unknown keys ['colour'] in densenas_arch"]),
    ('section_not_mapping', lambda d: d.__setitem__(ARCH_KEY, [1, 2]), False,
     ['the densenas_arch section must be a mapping, got list']),
    ('format_version', set_('format_version', 3), False,
     ['unsupported architecture format_version 3', '[1, 2]']),
    ('fix_subnet_not_alias', lambda d: d.__setitem__('foo', 3), False,
     ["top-level entry 'foo'", 'is not a DenseNAS alias']),
    # ------------------------------------------- self-consistency of a file
    ('path_disagrees', set_('path', [0, 1, 3, 4, 6, 7]), False,
     ['path [0, 1, 3, 4, 6, 7] disagrees with the blocks']),
    ('src_chain_broken', set_block(2, src=1), False,
     ['block 2 (node 4) comes from node 1 but the previous block is node 2']),
    ('net_config_edited', set_block(0, head_op='mbconv_k3_t6'), False,
     ['net_config in the file disagrees with its blocks']),
    ('space_name_vs_spec', set_('space', 'other'), False,
     ["space is 'other' but search_space is named 'densenas_demo_32'"]),
    ('spec_invalid', spec_edit('widths', [12, 16]), False,
     ['search_space: not a valid search space', 'lengths differ']),
    # ------------------------------------------------- against the space
    ('head_op_not_candidate', set_block(0, head_op='mbconv_k5_t6'), True,
     ["block 0 (node 1): head op 'mbconv_k5_t6' is not a candidate",
      "head candidates: ['mbconv_k3_t3', 'mbconv_k3_t6', 'mbconv_k5_t3']"]),
    ('stack_op_not_candidate', set_block(0, stack_ops=['mbconv_k3_t6']),
     True, ["stacking op 'mbconv_k3_t6' (layer 0) is not a candidate",
            "['mbconv_k3_t3', 'mbconv_k5_t3', 'skip_connect']"]),
    ('stack_layer_where_none', set_block(3, stack_ops=['mbconv_k3_t3'],
                                         layer_ids=[0]), True,
     ['block 3 (node 6): stacking layer 0 does not exist: node 6 has 0 '
      'stacking layer(s)']),
    ('extra_stack_layer', set_block(0, stack_ops=['mbconv_k3_t3'] * 2,
                                    layer_ids=[0, 1]), True,
     ['block 0 (node 1): stacking layer 1 does not exist: node 1 has 1']),
    ('edge_skips_a_stage', drop_block(1), True,
     ['block 1 (node 4): the space has no edge 1 -> 4',
      'from node 1 the space connects to [2, 3]']),
    ('every_stride_one', every_stride_one, True,
     ["stem_stride is 1 but space 'densenas_demo_32' has 2",
      'block 1 (node 2): stride is 1 but the edge 1 -> 2 goes from '
      'resolution 16 to 8, so the stride must be 2']),
    ('width_not_the_nodes', combo(set_block(0, c_out=13),
                                  set_block(1, c_in=13)), True,
     ['block 0 (node 1): c_out is 13 but node 1 has width 12']),
    ('last_block_misses_terminal', drop_block(3), True,
     ['the last block (node 4) does not reach the terminal',
      'from nodes [6]']),
    ('num_classes_vs_space', set_('num_classes', 7), True,
     ["num_classes is 7 but space 'densenas_demo_32' has 10"]),
    ('input_size_vs_space', set_('input_size', 64), True,
     ["input_size is 64 but space 'densenas_demo_32' has 32"]),
    ('fix_subnet_route_disagrees', set_fix('route01', 'to03'), False,
     ["fix_subnet 'route01' is 'to03' but the blocks use to02 (node 2)"]),
    ('fix_subnet_head_disagrees', set_fix('b01_head_from00',
                                          'mbconv_k3_t6'), False,
     ["fix_subnet 'b01_head_from00' is 'mbconv_k3_t6' but the blocks use "
      'mbconv_k3_t3']),
    ('fix_subnet_bad_choice', set_fix('b01_head_from00', 'mbconv_k7_t6'),
     False, ["fix_subnet 'b01_head_from00' chooses 'mbconv_k7_t6'; allowed"]),
    ('fix_subnet_unknown_mutable', set_fix('b09_layer0', 'mbconv_k3_t3'),
     False, ["fix_subnet entry 'b09_layer0' is no mutable of the space",
             'has no block 9']),
    # the recorded spec was edited: the blocks no longer fit it, and it is
    # not the config's space either
    ('recorded_spec_edited', spec_edit('widths', [14, 16, 24, 32, 40, 64]),
     False, ["derived in search space 'densenas_demo_32'",
             'but is used with space', 'widths: [14, 16, 24, 32, 40, 64] vs '
             '[12, 16, 24, 32, 40, 64]']),
]


def write(tmp_path, data) -> str:
    path = tmp_path / 'arch.yaml'
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(path)


def write_edited(tmp_path, edit, sync: bool) -> str:
    """The base file edited by ``edit`` (and resynced), written."""
    data = base_file()
    edit(data)
    if sync:
        resync(data)
    return write(tmp_path, data)


@pytest.mark.parametrize(
    'edit, sync, fragments', [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_arch_file_is_refused_when_the_net_is_built(
        tmp_path, edit, sync, fragments):
    path = write_edited(tmp_path, edit, sync)
    with pytest.raises(ArchError) as err:
        build(path)
    message = str(err.value)
    assert message.startswith(f'DenseNASNet: invalid architecture {path!r}')
    for fragment in fragments:
        assert fragment in message, message


def test_the_catalogue_base_builds_and_runs():
    """The unedited base is a valid net (so every refusal above is the
    edit's)."""
    import torch
    net = build(DerivedArch.load(base_file()))
    assert isinstance(net, DenseNASNet)
    out = net(torch.randn(2, 3, 32, 32))
    assert [tuple(o.shape) for o in out] == [(2, 128, 4, 4)]


def test_every_problem_is_listed_not_only_the_first(tmp_path):
    data = base_file()
    set_block(0, head_op='mbconv_k5_t6')(data)
    set_('num_classes', 7)(data)
    set_block(3, stack_ops=['mbconv_k3_t3'], layer_ids=[0])(data)
    resync(data)
    with pytest.raises(ArchError) as err:
        build(write(tmp_path, data))
    # the three edits, and the fix_subnet entry that still names the old
    # head op
    assert '(4 problem(s))' in str(err.value)


def _truncate(text: str, blocks_kept: int) -> str:
    """The YAML cut right after block ``blocks_kept - 1`` (a crash between
    blocks)."""
    starts = [m.start() for m in re.finditer(r'^  - c_in:', text, re.M)]
    return text[:starts[blocks_kept]]


def test_file_truncated_at_a_block_boundary(tmp_path):
    text = yaml.safe_dump(base_file(), sort_keys=False)
    path = tmp_path / 'cut.yaml'
    path.write_text(_truncate(text, 2))
    with pytest.raises(ArchError) as err:
        build(str(path))
    message = str(err.value)
    assert 'lacks' in message and "'last_dim'" in message
    assert "'act'" in message and 'the file is truncated' in message


def test_resnet_file_cut_after_3_of_6_blocks_does_not_load_as_relu6(
        tmp_path):
    """The issue's example: a ResNet arch loaded as 3 of 6 blocks with the
    default activation. It is refused, naming what the file lacks."""
    arch = first_path_arch('densenas_resnet_32')
    assert len(arch.blocks) >= 6 and arch.act == 'relu'
    text = yaml.safe_dump(arch.to_dict(), sort_keys=False)
    cut = tmp_path / 'resnet_cut.yaml'
    cut.write_text(_truncate(text, 3))
    with pytest.raises(ArchError, match="lacks .*'act'"):
        DerivedArch.load(str(cut))


def test_file_truncated_inside_a_block(tmp_path):
    text = yaml.safe_dump(base_file(), sort_keys=False)
    cut = text[:text.index('stride', text.index('node: 4'))]
    path = tmp_path / 'cut.yaml'
    path.write_text(cut)
    with pytest.raises(ArchError, match='lacks .* the file is truncated'):
        build(str(path))


def test_block_trimmed_by_hand(tmp_path):
    data = base_file()
    block(data, 2).pop('layer_ids')
    with pytest.raises(ArchError,
                       match=r"block 2 lacks \['layer_ids'\]: the file is "
                       'truncated or was trimmed by hand'):
        build(write(tmp_path, data))


@pytest.mark.parametrize('key, value', [('num_classes', 5),
                                        ('input_size', 224)])
def test_config_num_classes_and_input_size_must_match(key, value):
    with pytest.raises(ArchError) as err:
        build(DerivedArch.load(base_file()), **{key: value})
    current = getattr(base_arch(), key)
    assert (f'{key} is {current} in the architecture (its search) but '
            f'{value} in this config (model.backbone.{key})') in str(err.value)


def test_arch_of_another_space_is_refused():
    arch = first_path_arch('densenas_mbv2_32')
    with pytest.raises(ArchError) as err:
        build(arch)
    message = str(err.value)
    assert "derived in search space 'densenas_mbv2_32'" in message
    assert "used with space 'densenas_demo_32'" in message
    assert 'widths:' in message
    # without the config's space it is checked against its own and builds
    assert isinstance(build(arch, search_space=None, num_classes=None,
                            input_size=None), DenseNASNet)


def test_format_1_file_naming_another_space_is_refused():
    data = base_file()
    body = data[ARCH_KEY]
    body.pop('search_space')
    body.update(format_version=1, space='densenas_mbv2_224')
    with pytest.raises(ArchError,
                       match="records search space 'densenas_mbv2_224' but "
                       "is used with space 'densenas_demo_32'"):
        build(DerivedArch.from_dict(data))


def test_recorded_space_is_used_without_a_config_space(tmp_path):
    """No search_space in the config: the file's own space still refuses a
    block it does not have."""
    data = base_file()
    set_block(0, head_op='mbconv_k5_t6')(data)
    resync(data)
    with pytest.raises(ArchError, match="head op 'mbconv_k5_t6' is not"):
        DenseNASNet(write(tmp_path, data))


def test_published_net_config_cannot_be_placed_in_a_space():
    with pytest.raises(ArchError, match='carry no coordinates'):
        build(DENSENAS_C)
    # alone (no space) it builds: the published nets are not search files
    assert len(DenseNASNet(DENSENAS_C).blocks) == 7


def test_head_width_that_does_not_match_the_backbone():
    if DefaultScope.get_current_instance() is None:
        DefaultScope.get_instance('arch_validation_tests', scope_name='mmcls')
    cfg = copy.deepcopy(Config.fromfile(SUBNET_CFG).model)
    cfg.head.in_channels = 64
    model = MODELS.build(cfg)
    with pytest.raises(ArchError,
                       match='model.head.in_channels is 64 but the '
                       'DenseNASNet backbone gives 128 channels'):
        check_head_fits(model)
    cfg.head.in_channels = 128
    check_head_fits(MODELS.build(cfg))


def test_same_check_for_the_plots():
    """The plots use the same validation (one function)."""
    from densenas_mm.visualization import arch_state_from_arch
    space = load_preset('densenas_demo_32')
    data = base_file()
    set_block(0, head_op='mbconv_k5_t6')(data)
    resync(data)
    with pytest.raises(ArchError, match="head op 'mbconv_k5_t6'"):
        arch_state_from_arch(space, DerivedArch.from_dict(data))
    state = arch_state_from_arch(space, base_arch())
    assert state.path == PATH


def test_check_arch_in_space_accepts_the_base():
    space = load_preset('densenas_demo_32')
    check_arch_in_space(base_arch(), space)
    assert base_arch().recorded_space().fingerprint() == space.fingerprint()
    other = load_preset('densenas_demo_32', num_classes=3)
    assert other.fingerprint() == space.fingerprint()  # a label only


#: The arch files of issue 25 that latency_audit.py blamed on missing table
#: entries: all-stride-1, metadata mismatch, op not in the space, skipped
#: stage, stacking where none; with the audit's own fragments where it
#: checks against the recorded space (the edited spec then disagrees with
#: the blocks' widths) instead of the config's.
AUDIT_CASES = {
    'every_stride_one': None,
    'recorded_spec_edited': [
        "does not fit search space 'densenas_demo_32'",
        'block 0 (node 1): c_out is 12 but node 1 has width 14'
    ],
    'head_op_not_candidate': None,
    'edge_skips_a_stage': None,
    'stack_layer_where_none': None,
}


@pytest.mark.parametrize('case', sorted(AUDIT_CASES))
def test_latency_audit_names_the_real_problem(tmp_path, case):
    """The audit loads an arch file with the check train.py and the plots
    use: the same problems, the file named, before any table lookup."""
    from densenas_mm.apis.latency_check import load_audit_arch
    [(edit, sync, fragments)] = [c[1:] for c in CASES if c[0] == case]
    path = write_edited(tmp_path, edit, sync)
    with pytest.raises(ArchError) as err:
        load_audit_arch(path)
    message = str(err.value)
    assert message.startswith(f'{path}: ')
    assert 'table' not in message
    for fragment in AUDIT_CASES[case] or fragments:
        assert fragment in message, message
    if AUDIT_CASES[case] is None:
        with pytest.raises(ArchError) as built:
            build(path)
        # the very problems DenseNASNet (train.py) reports
        assert message.split(': ', 1)[1] in str(built.value)


def test_latency_audit_accepts_the_base(tmp_path):
    from densenas_mm.apis.latency_check import load_audit_arch
    path = write(tmp_path, base_file())
    assert load_audit_arch(path).path == PATH
