"""DDP wrapper for DenseNAS: weight steps through DDP, architecture steps
beside it with one all-reduce of the alpha/beta gradients."""
import re
from datetime import timedelta
from typing import Any, Dict, List, Optional

import torch
import torch.distributed as dist
from mmengine.dist import get_rank, get_world_size, is_distributed
from mmengine.model import MMDistributedDataParallel
from mmengine.optim import OptimWrapperDict
from torch import Tensor

from densenas_mm.registry import MODEL_WRAPPERS


def all_reduce_arch_grads(params: List[torch.nn.Parameter]) -> int:
    """Average the gradients of ``params`` over the ranks in one call.

    Every parameter takes part (zeros where it has no gradient), so every
    rank sends the same number of elements; a parameter without a gradient
    keeps none (ranks sample the same ops, so they agree on which have
    one). Nothing happens outside a distributed run.

    Args:
        params (list[Parameter]): The arch parameters (alpha and beta).

    Returns:
        int: Elements all-reduced (0 outside a distributed run).
    """
    if not params or not is_distributed():
        return 0
    flat = torch.cat([
        (p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1)
        for p in params
    ])
    dist.all_reduce(flat)
    flat.div_(get_world_size())
    offset = 0
    for p in params:
        n = p.numel()
        if p.grad is not None:
            p.grad.copy_(flat[offset:offset + n].view_as(p.grad))
        offset += n
    return flat.numel()


def arch_checksum(mutator: Any) -> Tensor:
    """Three float64 numbers that differ between ranks whose alpha/beta or
    ops in play differ: the sum and a position-weighted sum of every arch
    parameter, and a code of the current choices (mmrazor's
    ``current_choices``: the sampled ops and routes)."""
    params = [p.detach().reshape(-1) for p in mutator.arch_params.values()]
    flat = torch.cat(params).double()
    pos = torch.arange(
        1, flat.numel() + 1, dtype=torch.float64, device=flat.device)
    code = 0.0
    for k, (name,
            choice) in enumerate(sorted(mutator.current_choices.items())):
        text = repr((name, choice))
        code += (k + 1) * (
            sum(ord(c) * (i + 1) for i, c in enumerate(text)) % 1000003)
    return torch.stack([
        flat.sum(), (flat * pos).sum(),
        torch.tensor(code, dtype=torch.float64, device=flat.device)
    ])


def check_ranks_agree(mutator: Any, step: Any = None) -> None:
    """Fail loudly unless every rank holds the same alpha/beta and has the
    same ops in play (one all-reduce of 6 float64 numbers; nothing outside
    a distributed run).

    Ranks sample the same ops only because alpha/beta are bit-identical on
    every rank; DDP would not notice a drift (each rank steps its own
    copy), so the search would silently train a different supernet on
    every rank.

    Args:
        mutator: The DenseNAS mutator.
        step: Where, for the message (e.g. the iteration).

    Raises:
        RuntimeError: If the ranks disagree, naming what differs.
    """
    if not is_distributed():
        return
    local = arch_checksum(mutator)
    both = torch.cat([local, -local])
    dist.all_reduce(both, op=dist.ReduceOp.MAX)
    high, low = both[:3], -both[3:]
    differ = (high != low).tolist()
    if any(differ):
        what = ' and '.join(
            name for name, bad in zip(('alpha/beta', 'alpha/beta',
                                       'the sampled ops/routes'), differ)
            if bad)
        what = ' and '.join(dict.fromkeys(what.split(' and ')))
        raise RuntimeError(
            f'ranks disagree on {what} at step {step} (rank {get_rank()}: '
            f'checksums {local.tolist()}, max over ranks {high.tolist()}, '
            f'min {low.tolist()}). Every rank must hold the same arch '
            'parameters and sample the same ops; check that every rank '
            'runs the same config, seed and data order (SeededSampler), '
            'and that nothing changes alpha/beta on one rank only.')


#: torch's default process-group timeout (s), used when the config sets
#: none (``env_cfg.dist_cfg.timeout``).
DEFAULT_DIST_TIMEOUT = 1800.0

_TIMEOUT_TEXTS = ('Timed out waiting', 'timed out', 'Timeout(ms)',
                  'Watchdog caught collective operation timeout',
                  'failed to pass monitoredBarrier')
_CLOSED_TEXTS = ('Connection closed by peer', 'Connection reset by peer',
                 'pair closure')


class RankTimeoutError(RuntimeError):
    """A rank stopped answering: a barrier or collective timed out, or the
    connection to another rank closed."""


def dist_timeout(cfg: Any) -> float:
    """The configured process-group timeout in seconds
    (``env_cfg.dist_cfg.timeout``, else torch's 1800)."""
    env_cfg = cfg.get('env_cfg') or {}
    value = (env_cfg.get('dist_cfg') or {}).get('timeout')
    return float(value) if value is not None else DEFAULT_DIST_TIMEOUT


def is_rank_failure(err: BaseException) -> bool:
    """Whether ``err`` is a distributed timeout or a closed connection to
    another rank (gloo and NCCL wordings)."""
    text = str(err)
    return any(t in text for t in _TIMEOUT_TEXTS + _CLOSED_TEXTS)


def rank_failure_message(where: str, err: BaseException,
                         timeout_s: float) -> str:
    """One message for a failed barrier / collective: which ranks were
    silent (from gloo's monitored barrier; with two ranks, the other one),
    what timed out, and what to do."""
    text = str(err)
    first = text.strip().splitlines()[0] if text.strip() else repr(err)
    found = re.search(r'Ranks? ([\d, ]+) failed to pass monitoredBarrier',
                      text)
    rank, world = get_rank(), get_world_size()
    if found:
        ranks = [int(r) for r in found.group(1).replace(',', ' ').split()]
        who = (f'rank(s) {ranks} of {world} did not reach {where} within '
               f'{timeout_s:g} s')
    else:
        other = f' (rank {1 - rank})' if world == 2 else ''
        if any(t in text for t in _CLOSED_TEXTS):
            who = (f'rank {rank}: {where} failed: the connection to another '
                   f'rank{other} closed; that process crashed, was killed '
                   'or gave up after a timeout of its own: see its log')
        else:
            who = (f'rank {rank}: {where} timed out after {timeout_s:g} s: '
                   f'another rank{other} stopped answering')
    return (f'{who} (env_cfg.dist_cfg.timeout = {timeout_s:g} s). A silent '
            'rank is frozen (e.g. SIGSTOP, a deadlock), dead, or far slower '
            'than the others: check that process. If the ranks are only '
            'slow, raise the timeout with --cfg-options '
            f'env_cfg.dist_cfg.timeout=SECONDS. [{first}]')


def wait_for_ranks(where: str, timeout_s: float) -> None:
    """A barrier that names the ranks that do not arrive (gloo's
    ``monitored_barrier``; nothing on other backends, where a silent rank
    makes the next collective time out instead, or outside a distributed
    run).

    Args:
        where (str): The sync point, for the message (e.g. ``'the rank
            check at weight step 50'``).
        timeout_s (float): How long to wait (the run's
            ``env_cfg.dist_cfg.timeout``).

    Raises:
        RankTimeoutError: Naming the silent ranks (on rank 0; other ranks
            name the failure of the barrier).
    """
    if not is_distributed() or dist.get_backend() != 'gloo':
        return
    try:
        dist.monitored_barrier(
            timeout=timedelta(seconds=timeout_s), wait_all_ranks=True)
    except RuntimeError as err:
        raise RankTimeoutError(rank_failure_message(where, err,
                                                    timeout_s)) from None


def step_phase(data: Any) -> str:
    """The phase a search batch is tagged with (``'warmup'`` untagged)."""
    if isinstance(data, dict) and 'densenas_phase' in data:
        return data['densenas_phase']
    return 'warmup'


@MODEL_WRAPPERS.register_module()
class DenseNASDDP(MMDistributedDataParallel):
    """Distributed wrapper that reuses :meth:`DenseNAS.train_step`.

    The algorithm's step takes the callable that runs the forward and an
    optional synchronisation of the arch gradients:

    - **weight steps** (warm-up and search) run their forward through DDP,
      which averages the weight gradients across ranks;
    - **architecture steps** run their forward on the algorithm itself,
      outside DDP's gradient synchronisation (the weights are frozen, so
      DDP would all-reduce the whole supernet's zero gradients: 90 M
      elements on the paper's MobileNetV2 space), and then average only the
      alpha/beta gradients with one all-reduce
      (:func:`all_reduce_arch_grads`) before the mutator's optimiser steps.

    ``find_unused_parameters`` defaults to True because each weight step
    runs only the sampled ops; ``device_ids`` is dropped on CPU-only
    machines (gloo), where DDP rejects it. The search configs turn off
    ``broadcast_buffers``: a search reads no BatchNorm running statistics
    (supernet validation normalises with batch statistics), so broadcasting
    them before every forward moves data for nothing.

    Args:
        module (nn.Module): The DenseNAS algorithm.
        device_ids (list[int], optional): CUDA device of this rank.
        find_unused_parameters (bool): Defaults to True.
        **kwargs: Passed to ``DistributedDataParallel``.
    """

    def __init__(self,
                 module: torch.nn.Module,
                 device_ids: Optional[List[int]] = None,
                 find_unused_parameters: bool = True,
                 **kwargs) -> None:
        if not torch.cuda.is_available():
            device_ids = None
        super().__init__(
            module=module,
            device_ids=device_ids,
            find_unused_parameters=find_unused_parameters,
            **kwargs)

    def train_step(self, data: Any,
                   optim_wrapper: OptimWrapperDict) -> Dict[str, Tensor]:
        """Delegate to the algorithm: weight steps with this wrapper as
        the forward, architecture steps with the algorithm's own forward
        and :func:`all_reduce_arch_grads`."""
        if step_phase(data) == 'arch':
            return self.module.train_step(
                data,
                optim_wrapper,
                model_call=self.module,
                arch_grad_sync=all_reduce_arch_grads)
        return self.module.train_step(data, optim_wrapper, model_call=self)
