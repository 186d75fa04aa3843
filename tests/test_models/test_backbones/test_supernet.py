"""The supernet's terminal node (``terminal_weights``) and the layer details
it shares with the reference code (stem BN, BN eps per family)."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmrazor.structures import load_fix_subnet

from densenas_mm.models.backbones import DenseNASSupernet
from densenas_mm.models.backbones.supernet import TERMINAL_WEIGHTS
from densenas_mm.models.estimators import ChainedLatencyEstimator
from densenas_mm.search_space import SearchSpace, load_preset
from densenas_mm.search_space.naming import edge_key
from helpers.builders import WIDER, build_pair

# three blocks in the last stage: the terminal has three incoming edges
SPACE = SearchSpace.from_config(WIDER)


def _pair(mode, seed=0):
    torch.manual_seed(seed)
    model, mutator = build_pair(
        SPACE, backbone_kwargs=dict(terminal_weights=mode))
    with torch.no_grad():  # routes far from uniform
        for p in mutator.betas().values():
            p.copy_(torch.randn_like(p) * 2)
    mutator.set_sampling('all')
    model.train()  # batch statistics: features of order 1
    return model, mutator


def _terminal_branches(supernet, x):
    """Output of every terminal 1x1 branch in one forward, by source."""
    outs = {}
    hooks = [
        supernet.terminal[edge_key(e.src)].register_forward_hook(
            lambda m, i, o, src=e.src: outs.__setitem__(src, o))
        for e in supernet.graph.terminal_edges
    ]
    result = supernet(x)[0]
    for h in hooks:
        h.remove()
    return result, outs


def _incoming_probs(mutator):
    """p_iT of every terminal edge (1 for a source with no other target)."""
    graph = mutator.graph
    probs = {}
    for edge in graph.terminal_edges:
        targets = graph.outgoing[edge.src]
        probs[edge.src] = (
            float(
                mutator.route_probs(edge.src)[targets.index(graph.terminal)])
            if len(targets) > 1 else 1.0)
    return probs


@pytest.mark.parametrize('mode', TERMINAL_WEIGHTS)
def test_terminal_weights_do_what_they_say(mode):
    model, mutator = _pair(mode)
    supernet = model.backbone
    x = torch.randn(4, 3, 32, 32)
    with torch.no_grad():
        out, branches = _terminal_branches(supernet, x)
    probs = _incoming_probs(mutator)
    assert len(probs) == len(branches) >= 3
    p = torch.tensor([probs[s] for s in sorted(probs)])
    # the p_iT of one node's inputs do not sum to 1 (normalised over outputs)
    assert abs(float(p.sum()) - 1.0) > 0.05
    weights = p if mode == 'route' else F.softmax(p, dim=0)
    expected = sum(w * branches[s] for w, s in zip(weights, sorted(probs)))
    assert float(out.abs().mean()) > 0.1
    assert torch.allclose(out, expected, atol=1e-5, rtol=1e-5)


def test_modes_differ_during_the_search_and_agree_on_a_path():
    (route, mut_r), (soft, mut_s) = _pair('route'), _pair('softmax')
    soft.load_state_dict(route.state_dict())
    mut_s.load_state_dict(mut_r.state_dict())
    x = torch.randn(4, 3, 32, 32)
    with torch.no_grad():
        a, b = route.backbone(x)[0], soft.backbone(x)[0]
    assert (a - b).abs().max() > 1e-3
    # the chained cost is an expectation over paths: the same in both modes
    est = ChainedLatencyEstimator(metric='flops')
    assert float(est.expected_cost(mut_r, all_ops=True)) == pytest.approx(
        float(est.expected_cost(mut_s, all_ops=True)), rel=1e-7)
    # fixed to the derived path, both compute the same network
    arch = mut_r.derive()
    fixed = []
    for model in (route, soft):
        net = DenseNASSupernet(
            SPACE, terminal_weights=model.backbone.terminal_weights)
        net.load_state_dict(model.backbone.state_dict())
        load_fix_subnet(net, arch.to_dict())
        with torch.no_grad():
            fixed.append(net(x)[0])
    assert torch.equal(fixed[0], fixed[1])


def test_unknown_terminal_weights_are_rejected():
    with pytest.raises(
            ValueError, match="terminal_weights must be one of.*'renorm'"):
        DenseNASSupernet(
            load_preset('densenas_demo_32'), terminal_weights='renorm')


def _bns(module):
    return [m for m in module.modules() if isinstance(m, nn.BatchNorm2d)]


def test_mbv2_supernet_bn_as_in_the_reference():
    net = DenseNASSupernet(load_preset('densenas_demo_32'))
    stem_conv_bn = net.stem[0][1]
    k3_t1 = net.stem[1]
    assert not stem_conv_bn.affine
    # the fixed mbconv_k3_t1: depthwise BN plain, projection BN affine
    assert [bn.affine for bn in _bns(k3_t1)] == [False, True]
    searchable = [
        bn for name, m in net.named_modules()
        if name.startswith(('blocks', 'terminal')) for bn in _bns(m)
    ]
    assert searchable and not any(bn.affine for bn in searchable)
    assert {bn.eps for bn in _bns(net)} == {1e-3}
    assert {bn.momentum for bn in _bns(net)} == {0.1}


def test_resnet_supernet_bn_as_in_the_reference():
    net = DenseNASSupernet(load_preset('densenas_resnet_32'))
    stem_bn = net.stem[0][1]
    assert stem_bn.affine and stem_bn.eps == 1e-5
    others = [bn for bn in _bns(net) if bn is not stem_bn]
    assert others and not any(bn.affine for bn in others)
    # the reference's ResNet code never sets eps: PyTorch's 1e-5 everywhere
    assert {bn.eps for bn in _bns(net)} == {1e-5}
