"""The optimiser helpers of a DenseNAS step and the host-read stacking."""
import pytest
import torch
from mmengine.optim import OptimWrapper, OptimWrapperDict

from densenas_mm.models.algorithms.optimisers import (check_optim_wrapper,
                                                      clear_grads,
                                                      grads_frozen,
                                                      restore_zero_grads)
from densenas_mm.utils.tensors import stack_scalars


def _wrappers(momentum: float = 0.9):
    weights = [torch.nn.Parameter(torch.ones(3)),
               torch.nn.Parameter(torch.ones(2))]
    alpha = torch.nn.Parameter(torch.zeros(4))
    optim = OptimWrapperDict(
        architecture=OptimWrapper(
            torch.optim.SGD(weights, lr=0.1, momentum=momentum)),
        mutator=OptimWrapper(torch.optim.Adam([alpha], lr=0.1)))
    return optim, weights, alpha


def test_check_optim_wrapper_names_what_is_missing():
    optim, _, _ = _wrappers()
    check_optim_wrapper(optim)
    with pytest.raises(TypeError, match=r'two optimisers.*got OptimWrapper\)'):
        check_optim_wrapper(optim['architecture'])
    with pytest.raises(TypeError, match=r'got OptimWrapperDict\)'):
        check_optim_wrapper(
            OptimWrapperDict(architecture=optim['architecture']))


def test_clear_grads_in_both_modes():
    optim, weights, alpha = _wrappers()
    # one SGD step on the first weight only: it alone has momentum state
    weights[0].grad = torch.ones(3)
    optim['architecture'].step()
    weights[0].grad = None
    alpha.grad = torch.ones(4)
    assert clear_grads(optim, 'in_place') == dict(set_to_none=False)
    # the zero gradient a resumed run lacks is back; no state, no gradient
    assert torch.equal(weights[0].grad, torch.zeros(3))
    assert weights[1].grad is None
    assert torch.equal(alpha.grad, torch.zeros(4))  # zeroed in place
    assert clear_grads(optim, 'set_to_none') == dict(set_to_none=True)
    assert all(p.grad is None for p in weights + [alpha])


def test_restore_zero_grads_keeps_a_gradient_it_finds():
    optim, weights, _ = _wrappers()
    weights[0].grad = torch.ones(3)
    optim['architecture'].step()
    restore_zero_grads(optim['architecture'].optimizer)
    assert torch.equal(weights[0].grad, torch.ones(3))
    # plain SGD keeps no per-parameter state: nothing to restore
    optim, weights, _ = _wrappers(momentum=0.0)
    weights[0].grad = torch.ones(3)
    optim['architecture'].step()
    weights[0].grad = None
    restore_zero_grads(optim['architecture'].optimizer)
    assert weights[0].grad is None


def test_grads_frozen_restores_only_what_it_froze_also_on_error():
    on, off = torch.nn.Parameter(torch.ones(2)), torch.nn.Parameter(
        torch.ones(2), requires_grad=False)
    with grads_frozen([on, off]):
        assert not on.requires_grad and not off.requires_grad
    assert on.requires_grad and not off.requires_grad
    with pytest.raises(RuntimeError, match='inside'):
        with grads_frozen([on]):
            raise RuntimeError('inside')
    assert on.requires_grad


def test_stack_scalars_order_dtype_and_empty():
    values = dict(loss=torch.tensor(2.5, dtype=torch.float64,
                                    requires_grad=True),
                  acc=torch.tensor([7]))
    out = stack_scalars(values)
    assert out.dtype == torch.float32 and not out.requires_grad
    assert out.tolist() == [2.5, 7.0]
    assert stack_scalars({}).shape == (0, )
