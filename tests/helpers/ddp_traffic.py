"""Child process of the DDP traffic tests (spawned by
``torch.multiprocessing``; importable by the child).

Each rank builds the demo algorithm (FLOPs cost), wraps it in
``DenseNASDDP`` as the search config does (``broadcast_buffers=False``),
counts what DDP's reducer and every other all-reduce move
(:class:`~densenas_mm.experiments.ddp_check.TrafficCounter`), runs one
warm-up, one weight and one architecture step, checks that the ranks agree
and writes what it saw to ``rank<r>.json``.
"""
import json
import os
import os.path as osp

import torch
import torch.distributed as dist


def run_rank(rank: int,
             world: int,
             init_file: str,
             out_dir: str,
             perturb_rank: int = -1) -> None:
    """One rank (see the module doc); ``perturb_rank`` shifts one alpha on
    that rank before the rank check (then the check must fail)."""
    os.environ.setdefault('OMP_NUM_THREADS', '1')
    torch.set_num_threads(1)
    dist.init_process_group(
        'gloo', init_method=f'file://{init_file}', rank=rank, world_size=world)
    try:
        _steps(rank, out_dir, perturb_rank)
    finally:
        dist.destroy_process_group()


def _steps(rank: int, out_dir: str, perturb_rank: int) -> None:
    from densenas_mm.experiments.ddp_check import TrafficCounter
    from densenas_mm.models.algorithms import DenseNASDDP
    from densenas_mm.models.algorithms.ddp import check_ranks_agree
    from densenas_mm.models.algorithms.steps import search_batch

    from helpers.search import build_algorithm, build_optim, fake_batch
    algo = build_algorithm()
    optim = build_optim(algo)
    model = DenseNASDDP(algo, broadcast_buffers=False)
    counter = TrafficCounter()
    counter.install(model)
    seen = {}
    with counter.counting():
        for k, phase in enumerate(('warmup', 'weight', 'arch')):
            counter.reset()
            model.train_step(
                search_batch(fake_batch(4, seed=k), phase, k), optim)
            t = counter.snapshot()
            seen[phase] = dict(
                ddp=t['ddp_elements'], other=t['other_elements'])
        if rank == perturb_rank:
            with torch.no_grad():
                next(iter(algo.mutator.alphas().values()))[0] += 1e-3
        try:
            check_ranks_agree(algo.mutator, step='test')
            seen['rank_check'] = 'ok'
        except RuntimeError as e:
            seen['rank_check'] = str(e)
    seen.update(
        n_weights=sum(p.numel() for p in algo.architecture.parameters()),
        n_arch=sum(p.numel() for p in algo.mutator.arch_params.values()),
        arch_values=[
            p.detach().tolist() for p in algo.mutator.arch_params.values()
        ])
    with open(osp.join(out_dir, f'rank{rank}.json'), 'w') as f:
        json.dump(seen, f)
