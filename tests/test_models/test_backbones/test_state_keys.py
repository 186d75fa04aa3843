"""The shared state-dict key layout (densenas_mm.models.backbones.state_keys)
on a real supernet and the net derived from it."""
import pytest
import torch
from helpers.builders import build_pair

import densenas_mm  # noqa: F401
from densenas_mm.models.backbones import DenseNASNet, state_keys
from densenas_mm.search_space import SpaceGraph, load_preset


@pytest.fixture(scope='module')
def derived():
    """The demo supernet, and the net derived from seeded random alphas and
    betas (with every op of the space somewhere in play)."""
    torch.manual_seed(3)
    space = load_preset('densenas_demo_32')
    model, mutator = build_pair(space)
    with torch.no_grad():
        for p in mutator.arch_params.values():
            p.normal_(0, 2)
    arch = mutator.derived_arch()
    return space, model.backbone, arch


def test_every_subnet_key_maps_onto_a_supernet_tensor_of_its_shape(derived):
    space, supernet, arch = derived
    sup = supernet.state_dict()
    net = DenseNASNet(arch).state_dict()
    mapped = {}
    for key, value in net.items():
        skey = state_keys.subnet_to_supernet_key(key, arch)
        if skey not in sup:
            # the supernet's BN is affine=False: only the derived net's BN
            # weight / bias have no supernet tensor
            assert key.rsplit('.', 1)[1] in ('weight', 'bias')
            assert skey.rsplit('.', 1)[0] + '.running_mean' in sup
            continue
        assert sup[skey].shape == value.shape, key
        mapped[key] = skey
    # every parameter kind is covered: stem, heads, stacking layers, terminal
    tops = {k.split('.')[0] for k in mapped}
    assert tops == {state_keys.STEM, state_keys.BLOCKS, state_keys.TERMINAL}
    assert any(f'.{state_keys.HEAD}.' in k for k in mapped)
    assert any(f'.{state_keys.LAYERS}.' in k for k in mapped)
    assert len(set(mapped.values())) == len(mapped)  # one-to-one
    # the mapped tensors are exactly the derived ops' (no other candidate)
    for blk in arch.blocks:
        head = state_keys.supernet_head(blk.node, blk.src)
        assert state_keys.candidates_in(sup, head) == sorted(space.head_ops)
        chosen = state_keys.candidate(head, blk.head_op) + '.'
        assert any(v.startswith(chosen) for v in mapped.values())


def test_prefixes_are_the_supernet_module_names(derived):
    space, supernet, _ = derived
    graph = SpaceGraph(space)
    names = dict(supernet.named_modules())
    for node in graph.blocks:
        for edge in graph.in_edges(node):
            mixed = state_keys.supernet_head(node, edge.src)
            assert type(names[mixed]).__name__ == 'DenseNASMixedOp'
            for op in space.head_ops:
                assert state_keys.candidate(mixed, op) in names
        for layer in range(graph.num_layers[node]):
            assert state_keys.supernet_layer(node, layer) in names
    for edge in graph.terminal_edges:
        assert state_keys.supernet_terminal(edge.src) in names


@pytest.mark.parametrize('key', [
    'routes.r01', 'blocks.0.other.0.weight', 'blocks.99.head.0.weight',
    'blocks.0.layers.7.0.weight', 'classifier.weight'
])
def test_keys_outside_the_layout_are_refused(derived, key):
    _, _, arch = derived
    with pytest.raises(ValueError, match='not a DenseNASNet parameter'):
        state_keys.subnet_to_supernet_key(key, arch)
