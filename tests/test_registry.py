"""Registries: children of mmrazor's, scope densenas_mm, cross-scope builds."""
import torch
from mmengine.registry import DefaultScope

from densenas_mm import registry
from densenas_mm.search_space import MBConv


def test_registries_are_scoped_children_of_the_root():
    """Direct children of mmengine's roots, like mmcls's and mmrazor's.

    A grandchild (child of mmrazor's) would be invisible to prefixed
    look-ups from other scopes; see densenas_mm/registry.py.
    """
    import mmcls.registry  # noqa: F401 (their registries, for the check)
    import mmengine.registry as root
    import mmrazor.registry  # noqa: F401
    names = [
        'MODELS', 'MODEL_WRAPPERS', 'TASK_UTILS', 'HOOKS', 'LOOPS', 'DATASETS',
        'DATA_SAMPLERS', 'OPTIM_WRAPPERS'
    ]
    for name in names:
        reg, parent = getattr(registry, name), getattr(root, name)
        assert reg.scope == 'densenas_mm', name
        assert reg.parent is parent, name
        assert parent.children['densenas_mm'] is reg, name
        assert 'mmrazor' in parent.children and 'mmcls' in parent.children


def test_mmrazor_components_resolve_from_densenas_scope():
    from mmrazor.models import BaseAlgorithm
    from mmrazor.models.mutators import ChannelMutator
    assert registry.MODELS.get('mmrazor.ChannelMutator') is ChannelMutator
    assert issubclass(
        registry.MODELS.get('mmrazor.BaseAlgorithm'), BaseAlgorithm)


def test_mbconv_builds_from_mmcls_default_scope():
    from mmcls.registry import MODELS as MMCLS_MODELS
    with DefaultScope.overwrite_default_scope('mmcls'):
        assert DefaultScope.get_current_instance().scope_name == 'mmcls'
        op = MMCLS_MODELS.build(
            dict(
                type='densenas_mm.MBConv',
                c_in=8,
                c_out=16,
                stride=2,
                kernel=3,
                expansion=6))
    assert isinstance(op, MBConv)
    out = op(torch.randn(2, 8, 16, 16))
    assert tuple(out.shape) == (2, 16, 8, 8)
    # expand 8->48 (1x1), depthwise 3x3 on 48, project 48->16 (no bias)
    n_conv = sum(m.weight.numel() for m in op.modules()
                 if isinstance(m, torch.nn.Conv2d))
    assert n_conv == 8 * 48 + 48 * 9 + 48 * 16


def test_mbconv_builds_from_own_registry_with_residual():
    op = registry.MODELS.build(
        dict(
            type='MBConv',
            _scope_='densenas_mm',
            c_in=8,
            c_out=8,
            stride=1,
            kernel=5,
            expansion=3))
    assert op.use_residual
    x = torch.randn(1, 8, 7, 7)
    assert tuple(op(x).shape) == (1, 8, 7, 7)


def test_every_registry_has_a_registered_component():
    """No empty registry: each kind the package declares has a component
    (the package registers nothing of other kinds)."""
    from densenas_mm.utils.setup_env import register_all_modules
    register_all_modules(init_default_scope=False)
    for name in registry.__all__:
        if name != 'SCOPE':
            assert len(getattr(registry, name).module_dict) > 0, name
