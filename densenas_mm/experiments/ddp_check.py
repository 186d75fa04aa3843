"""The ``ddp`` stage of the GPU check (:mod:`.gpu_check`).

Two ranks: NCCL on two GPUs when there are >= 2, else gloo with both ranks
on ``cuda:0`` (on the CPU in a dry run); warm-up, weight and architecture
steps through :class:`~densenas_mm.models.algorithms.DenseNASDDP` with
per-step wall time, the elements and bytes DDP's reducer all-reduces (a
communication hook, :class:`TrafficCounter`) and those of every other
all-reduce. Passes when architecture steps all-reduce exactly the
alpha+beta elements beside the step guards' three flags, weight and
warm-up steps every parameter through the reducer beside the flags, and
the ranks agree
(:func:`~densenas_mm.models.algorithms.ddp.check_ranks_agree`).
"""
import json
import os
import os.path as osp
import tempfile
import time
from contextlib import contextmanager
from typing import Any, Dict, Iterator, List, Sequence

import torch
import torch.distributed as dist

from densenas_mm.models.algorithms.guards import StepGuards
from densenas_mm.utils.io import dump_json_atomic
from .gpu_demo import PHASES, build_demo, build_optim, sync, tagged_batch


class TrafficCounter:
    """Elements and bytes all-reduced: by DDP's reducer (a communication
    hook, :meth:`install`) and by every other ``all_reduce`` call (while
    :meth:`counting` is active)."""

    def __init__(self) -> None:
        self._in_hook = False
        self.reset()

    def reset(self) -> None:
        """Start counting a new step."""
        self.ddp_elements = 0
        self.ddp_bytes = 0
        self.other: List[int] = []
        self.other_bytes = 0

    def snapshot(self) -> Dict[str, Any]:
        """What was counted since :meth:`reset`."""
        return dict(
            ddp_elements=self.ddp_elements,
            ddp_bytes=self.ddp_bytes,
            other_elements=list(self.other),
            other_bytes=self.other_bytes)

    def _hook(self, state: Any,
              bucket: dist.GradBucket) -> torch.futures.Future[torch.Tensor]:
        from torch.distributed.algorithms.ddp_comm_hooks import default_hooks
        buf = bucket.buffer()
        self.ddp_elements += buf.numel()
        self.ddp_bytes += buf.numel() * buf.element_size()
        self._in_hook = True
        try:
            return default_hooks.allreduce_hook(state, bucket)
        finally:
            self._in_hook = False

    def install(self, ddp_model: Any) -> None:
        """Count the reducer's buckets of ``ddp_model``."""
        ddp_model.register_comm_hook(None, self._hook)

    @contextmanager
    def counting(self) -> Iterator[None]:
        """Count every ``torch.distributed.all_reduce`` outside the hook."""
        real = dist.all_reduce

        def counted(tensor, *args, **kwargs):
            if not self._in_hook:
                self.other.append(tensor.numel())
                self.other_bytes += tensor.numel() * tensor.element_size()
            return real(tensor, *args, **kwargs)

        dist.all_reduce = counted
        try:
            yield
        finally:
            dist.all_reduce = real


def ddp_rank(rank: int, world: int, init_file: str, out_dir: str, backend: str,
             device: str, batch_size: int, steps: int) -> None:
    """One rank of the ``ddp`` stage; writes ``ddp_rank<r>.json``."""
    os.environ.setdefault('OMP_NUM_THREADS', '1')
    torch.set_num_threads(1)
    if torch.device(device).type == 'cuda':
        torch.cuda.set_device(torch.device(device))
    dist.init_process_group(
        backend,
        init_method=f'file://{init_file}',
        rank=rank,
        world_size=world)
    try:
        result = _ddp_steps(rank, device, backend, batch_size, steps)
        dump_json_atomic(result, osp.join(out_dir, f'ddp_rank{rank}.json'))
    finally:
        dist.destroy_process_group()


def _ddp_steps(rank: int, device: str, backend: str, batch_size: int,
               steps: int) -> Dict[str, Any]:
    from densenas_mm.models.algorithms import DenseNASDDP
    from densenas_mm.models.algorithms.ddp import check_ranks_agree
    algo = build_demo().to(device)
    optim = build_optim(algo)
    ids = [torch.device(device).index] if backend == 'nccl' else None
    model = DenseNASDDP(algo, device_ids=ids, broadcast_buffers=False)
    counter = TrafficCounter()
    counter.install(model)
    per_phase: Dict[str, Any] = {}
    with counter.counting():
        for phase in PHASES:
            seconds, traffic = [], []
            for k in range(steps):
                batch = tagged_batch(phase, k, batch_size)
                counter.reset()
                sync(device)
                start = time.perf_counter()
                model.train_step(batch, optim)
                sync(device)
                seconds.append(time.perf_counter() - start)
                traffic.append(counter.snapshot())
            per_phase[phase] = dict(seconds=seconds, traffic=traffic)
        try:
            check_ranks_agree(algo.mutator, step='end of the ddp stage')
            agree = 'ok'
        except RuntimeError as err:
            agree = str(err)
    return dict(
        rank=rank,
        device=str(device),
        backend=backend,
        n_weights=sum(p.numel() for p in algo.architecture.parameters()),
        n_arch=sum(p.numel() for p in algo.mutator.arch_params.values()),
        phases=per_phase,
        ranks_agree=agree)


def stage_ddp(device: str, out_dir: str, batch_size: int,
              steps: int) -> Dict[str, Any]:
    """See the module doc (``ddp``)."""
    import torch.multiprocessing as mp
    on_cuda = torch.device(device).type == 'cuda'
    two_gpus = on_cuda and torch.cuda.device_count() >= 2
    backend = 'nccl' if two_gpus else 'gloo'
    devices = (['cuda:0', 'cuda:1'] if two_gpus else
               ['cuda:0', 'cuda:0'] if on_cuda else ['cpu', 'cpu'])
    with tempfile.TemporaryDirectory() as tmp:
        mp.start_processes(
            _ddp_entry,
            args=(2, osp.join(tmp, 'init'), out_dir, backend, devices,
                  batch_size, steps),
            nprocs=2,
            join=True,
            start_method='spawn')
    ranks = []
    for r in (0, 1):
        with open(osp.join(out_dir, f'ddp_rank{r}.json')) as f:
            ranks.append(json.load(f))
    checks = []
    flags = StepGuards.NUM_FLAGS  # the step guards' all-reduced flags
    for seen in ranks:
        n_arch, n_all = seen['n_arch'], seen['n_weights'] + seen['n_arch']
        for phase, data in seen['phases'].items():
            for t in data['traffic']:
                if phase == 'arch':
                    checks.append(
                        t['ddp_elements'] == 0
                        and sorted(t['other_elements']) == sorted([flags, n_arch]))
                else:
                    checks.append(t['ddp_elements'] == n_all
                                  and t['other_elements'] == [flags])
        checks.append(seen['ranks_agree'] == 'ok')
    summary = {
        phase:
        dict(
            mean_seconds=sum(ranks[0]['phases'][phase]['seconds']) /
            len(ranks[0]['phases'][phase]['seconds']),
            bytes_per_step=ranks[0]['phases'][phase]['traffic'][-1])
        for phase in PHASES
    }
    return dict(
        backend=backend,
        devices=devices,
        per_phase=summary,
        ranks=ranks,
        passed=all(checks))


def _ddp_entry(rank: int, world: int, init_file: str, out_dir: str,
               backend: str, devices: Sequence[str], batch_size: int,
               steps: int) -> None:
    ddp_rank(rank, world, init_file, out_dir, backend, devices[rank],
             batch_size, steps)


__all__ = ['TrafficCounter', 'ddp_rank', 'stage_ddp']
