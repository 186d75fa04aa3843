"""The two optimisers of a DenseNAS step: clearing, updating, checking.

A search has an ``architecture`` optimiser (the supernet's weights) and a
``mutator`` optimiser (alpha/beta), held by one ``OptimWrapperDict``
(:func:`check_optim_wrapper`). Before every backward both clear their
gradients (:func:`clear_grads`, in the algorithm's ``grad_zeroing`` mode),
so neither step leaks gradient values into the other, and nothing touches
``.grad`` after a step. An architecture step under DDP all-reduces the
alpha/beta gradients between its backward and its update
(:func:`update_arch_params`), with the weights' gradients turned off
(:func:`grads_frozen`).
"""
from contextlib import contextmanager
from typing import Any, Callable, Dict, Iterator, Optional, Sequence

import torch
from mmengine.optim import OptimWrapperDict
from torch import Tensor

#: How gradients are cleared before every backward and after every step
#: (see the ``grad_zeroing`` argument of :class:`~.densenas.DenseNAS`).
GRAD_ZEROING = ('set_to_none', 'in_place')


def check_optim_wrapper(optim_wrapper: Any) -> None:
    """Refuse anything but the two optimisers a DenseNAS step needs.

    Raises:
        TypeError: If ``optim_wrapper`` is no ``OptimWrapperDict`` with
            ``architecture`` and ``mutator`` (with the config that builds
            one).
    """
    if (not isinstance(optim_wrapper, OptimWrapperDict)
            or 'architecture' not in optim_wrapper
            or 'mutator' not in optim_wrapper):
        raise TypeError(
            'DenseNAS needs two optimisers: set optim_wrapper=dict('
            "constructor='mmrazor.SeparateOptimWrapperConstructor', "
            'architecture=dict(optimizer=dict(type=\'SGD\', ...)), '
            'mutator=dict(optimizer=dict(type=\'Adam\', ...))) in the '
            f'config (got {type(optim_wrapper).__name__})')


def restore_zero_grads(optimizer: torch.optim.Optimizer) -> None:
    """Give every parameter the optimiser keeps state for a zero gradient
    if it has none: in ``'in_place'`` mode exactly those parameters hold
    one in an uninterrupted run, and a resumed run starts without any."""
    state = optimizer.state
    for group in optimizer.param_groups:
        for p in group['params']:
            if p.grad is None and state.get(p):
                p.grad = torch.zeros_like(p)


def clear_grads(optim_wrapper: OptimWrapperDict,
                grad_zeroing: str) -> Dict[str, bool]:
    """Clear the gradients of every optimiser before a backward.

    Args:
        optim_wrapper (OptimWrapperDict): The step's optimisers.
        grad_zeroing (str): One of :data:`GRAD_ZEROING`; ``'in_place'``
            first restores the zero gradients a resumed run lacks
            (:func:`restore_zero_grads`).

    Returns:
        dict: The ``zero_grad`` keyword arguments of the mode, for the
        clearing after the step's update.
    """
    zero_kwargs = dict(set_to_none=grad_zeroing == 'set_to_none')
    for ow in optim_wrapper.values():
        if grad_zeroing == 'in_place':
            restore_zero_grads(ow.optimizer)
        ow.zero_grad(**zero_kwargs)
    return zero_kwargs


def update_arch_params(wrapper: Any, loss: Tensor, zero_kwargs: Dict,
                       mutator: Any,
                       arch_grad_sync: Optional[Callable]) -> None:
    """Backward and step of an architecture step, with the DDP wrapper's
    all-reduce of the alpha/beta gradients (``arch_grad_sync``, called with
    the list of the mutator's arch parameters) in between.

    Args:
        wrapper: The ``mutator`` optimiser wrapper.
        loss (Tensor): The step's loss.
        zero_kwargs (dict): What :func:`clear_grads` returned.
        mutator: The mutator that holds alpha and beta.
        arch_grad_sync (callable, optional): None: a plain update.
    """
    if arch_grad_sync is None:
        wrapper.update_params(loss, zero_kwargs=zero_kwargs)
        return
    wrapper.backward(wrapper.scale_loss(loss))
    if wrapper.should_update():
        arch_grad_sync(list(mutator.arch_params.values()))
        wrapper.step()
        wrapper.zero_grad(**zero_kwargs)


@contextmanager
def grads_frozen(params: Sequence[torch.nn.Parameter]) -> Iterator[None]:
    """Turn off the gradients of ``params`` for a block.

    Those with ``requires_grad`` at entry are frozen and turned on again on
    exit (also on an error); the others are left alone.
    """
    frozen = [p for p in params if p.requires_grad]
    for p in frozen:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in frozen:
            p.requires_grad_(True)
