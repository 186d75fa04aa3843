"""mmrazor's subnet utilities on a searched DenseNAS supernet.

From a search checkpoint: ``mutator.derive()``, then mmrazor's
``export_fix_subnet`` (also with ``slice_weight=True``), ``sub_model`` and
``load_fix_subnet``, and the standalone subnet of
:func:`densenas_mm.apis.conversion.subnet_from_algorithm`; all of them must
run the same derived network.
"""
# densenas_mm first: its compat fixes must precede any mmrazor import.
import densenas_mm  # noqa: F401  # isort: skip

import copy

import pytest
import torch
from mmengine.fileio import dump
from mmengine.registry import DefaultScope
from mmengine.runner import load_checkpoint
from mmrazor.registry import MODELS as MMRAZOR_MODELS
from mmrazor.registry import sub_model
from mmrazor.structures import (convert_fix_subnet, export_fix_subnet,
                                load_fix_subnet)
from torch.nn.modules.batchnorm import _BatchNorm

from densenas_mm.apis.conversion import subnet_from_algorithm
from densenas_mm.models.backbones import DenseNASNet
from densenas_mm.models.mutables import DenseNASMixedOp, DenseNASRoute
from densenas_mm.structures import (DerivedArch, dump_fix_subnet,
                                    load_fix_subnet_dict)
from helpers.search import build_algorithm, demo_cfg


def _mutables(model):
    return [
        m for m in model.modules()
        if isinstance(m, (DenseNASMixedOp, DenseNASRoute))
    ]


@pytest.fixture(scope='module')
def searched(tmp_path_factory):
    """A search checkpoint with non-trivial alpha / beta and BN statistics,
    loaded into a freshly built algorithm."""
    algo = build_algorithm(seed=0)
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in algo.mutator.arch_params.values():
            p.copy_(torch.randn(p.shape, generator=g) * 2)
        for m in algo.modules():
            if isinstance(m, _BatchNorm):
                m.running_mean.copy_(
                    torch.randn(m.running_mean.shape, generator=g) * 0.1)
                m.running_var.copy_(
                    torch.rand(m.running_var.shape, generator=g) + 0.5)
    path = tmp_path_factory.mktemp('search') / 'epoch_20.pth'
    torch.save(dict(state_dict=algo.state_dict(), meta=dict(epoch=20)), path)
    fresh = build_algorithm(seed=1)
    load_checkpoint(fresh, str(path), map_location='cpu', strict=True,
                    logger='silent')
    return fresh.eval()


def test_export_needs_a_choice_then_derive_makes_it_exportable(searched):
    algo = copy.deepcopy(searched)
    algo.mutator.set_sampling('all')  # what validation leaves behind
    with pytest.raises(RuntimeError, match=r'call mutator\.derive\(\)'):
        export_fix_subnet(algo)
    arch = algo.mutator.derive()
    fix, sliced = export_fix_subnet(algo)
    assert sliced is None
    assert list(fix) == list(algo.mutator.search_groups)
    assert {k: v.chosen for k, v in fix.items()} == arch.fix_subnet
    assert all(v.meta['all_choices'] for v in fix.values())
    # the same as the architecture the search loop records
    assert arch.fix_subnet == algo.snapshot().arch.fix_subnet


def test_slice_weight_runs_the_derived_net(searched):
    algo = copy.deepcopy(searched)
    arch = algo.mutator.derive()
    fix, sliced = export_fix_subnet(algo, slice_weight=True)
    assert sliced is not algo
    assert all(m.is_fixed for m in _mutables(sliced))
    assert not any(m.is_fixed for m in _mutables(algo))
    standalone, report = subnet_from_algorithm(algo)
    assert isinstance(standalone.backbone, DenseNASNet)
    assert standalone.backbone.arch.to_net_config() == arch.to_net_config()
    x = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        ref = standalone(x, mode='tensor')
        out = sliced.eval()(x, mode='tensor')
    assert ref.shape == (3, 10)
    assert torch.allclose(out, ref, atol=1e-5), (out - ref).abs().max()
    # Why the slice is not standalone: mmrazor only fixes mutables, so the
    # blocks off the derived path stay (each with its chosen op).
    blocks = set(sliced.architecture.backbone.blocks)
    on_path = {f'b{n:02d}' for n in arch.path[1:-1]}
    assert on_path < blocks
    n_sliced = sum(p.numel() for p in sliced.architecture.parameters())
    n_alone = sum(p.numel() for p in standalone.parameters())
    assert n_alone < n_sliced
    assert not report.reinitialised.get('classifier')


def test_sub_model_and_load_fix_subnet_round_trip(searched, tmp_path):
    algo = copy.deepcopy(searched)
    arch = algo.mutator.derive()
    fix, _ = export_fix_subnet(algo)
    # mmengine.dump writes DumpChosen with Python tags (only an unsafe
    # loader reads that); dump_fix_subnet writes plain YAML
    tagged = tmp_path / 'tagged.yaml'
    dump(fix, str(tagged))
    assert '!!python/' in tagged.read_text()
    yaml_mmrazor = tmp_path / 'subnet.yaml'
    dump_fix_subnet(fix, str(yaml_mmrazor))
    text = yaml_mmrazor.read_text()
    assert '!!' not in text and text.count('chosen:') == len(fix)
    assert load_fix_subnet_dict(str(yaml_mmrazor)) == {
        k: dict(chosen=v.chosen, meta=v.meta)
        for k, v in fix.items()
    }
    assert load_fix_subnet_dict(convert_fix_subnet(fix)) == {
        k: dict(chosen=v.chosen)
        for k, v in fix.items()
    }
    yaml_ours = tmp_path / 'arch.yaml'
    arch.dump(str(yaml_ours))
    assert '!!' not in yaml_ours.read_text()
    state = {
        k[len('architecture.'):]: v
        for k, v in algo.state_dict().items()
        if k.startswith('architecture.')
    }
    standalone, _ = subnet_from_algorithm(algo)
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        ref = standalone(x, mode='tensor')
    # the search config's architecture as it is, built from mmrazor's scope
    arch_cfg = demo_cfg().model.architecture
    with DefaultScope.overwrite_default_scope('mmrazor'):
        subs = [
            sub_model(
                copy.deepcopy(arch_cfg),
                fix_subnet=load_fix_subnet_dict(str(yaml_mmrazor))),
            MMRAZOR_MODELS.build(
                dict(
                    _scope_='mmrazor',
                    type='sub_model',
                    cfg=copy.deepcopy(arch_cfg),
                    fix_subnet=load_fix_subnet_dict(str(yaml_ours))))
        ]
    for sub in subs:
        assert all(m.is_fixed for m in _mutables(sub))
        again, _ = export_fix_subnet(sub)
        assert {k: v.chosen for k, v in again.items()} == arch.fix_subnet
        missing, unexpected = sub.load_state_dict(state, strict=False)
        assert missing == []
        # exactly the candidates the fixed mixed ops dropped
        assert unexpected and all('._candidates.' in k for k in unexpected)
        with torch.no_grad():
            out = sub.eval()(x, mode='tensor')
        assert torch.allclose(out, ref, atol=1e-5)
    # load_fix_subnet into the live supernet of a copy: the same net again
    model = copy.deepcopy(algo.architecture)
    load_fix_subnet(model, load_fix_subnet_dict(str(yaml_ours)))
    with torch.no_grad():
        assert torch.allclose(model.eval()(x, mode='tensor'), ref, atol=1e-5)
    assert DerivedArch.load(str(yaml_ours)).fix_subnet == arch.fix_subnet
