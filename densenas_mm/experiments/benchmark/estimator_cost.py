"""Cost of one chained expected-cost evaluation vs one architecture step.

Times ``estimator.expected_cost(mutator)`` forward + backward (to alpha and
beta) in the mutator's 'pair' mode, as the arch step uses it, and one real
``DenseNAS.train_step`` arch step at a small batch, in the same process.
Default: the paper's MobileNetV2 224 space with the reference TITAN-Xp
latency table imported by ``densenas_mm.latency.import_reference``.

Example::

    python tools/benchmark/estimator.py densenas_mbv2_224 --batch-size 2 \
        --out work_dirs/bench/estimator_cpu.json
"""
from typing import Any, Dict

import torch

from densenas_mm.models.algorithms import search_batch, step_seed
from .builders import build_bench, env_threads
from .machine import fmt, load, machine_info
from .measure import time_calls

def estimator_call(algo) -> None:
    """One expected-cost forward + backward, grads cleared afterwards."""
    cost = algo.estimator.expected_cost(algo.mutator)
    cost.backward()
    for p in algo.mutator.arch_params.values():
        p.grad = None


def run(config: str = 'densenas_mbv2_224',
        *,
        device: str = 'cpu',
        batch_size: int = 2,
        repeats: int = 5,
        warmup: int = 1,
        threads: int = 1,
        estimator: str = 'auto') -> Dict[str, Any]:
    """Time the expected-cost evaluation against one arch step.

    Args:
        config (str): A search config, or a search-space preset name or file
            (:func:`~.builders.build_bench`).
        device (str): ``'cpu'`` or ``'cuda'``.
        batch_size (int): Images of the arch step.
        repeats (int): Timed arch steps (x20 estimator calls).
        warmup (int): Untimed arch steps (x10 estimator calls).
        threads (int): Intra-op threads on CPU (0: torch's default).
        estimator (str): ``'auto'``, ``'reference'``, ``'flops'`` or a LUT.

    Raises:
        ValueError: For ``device='cuda'`` without CUDA.
    """
    from mmengine.logging import MMLogger
    if not MMLogger.check_instance_created('densenas_benchmark'):
        MMLogger.get_instance('densenas_benchmark', log_level='WARNING')
    if device == 'cuda' and not torch.cuda.is_available():
        raise ValueError("device='cuda': CUDA is not available here")
    if device == 'cpu' and threads:
        env_threads(threads)
    load_before = load()
    bench = build_bench(
        config,
        device=device,
        batch_size=batch_size,
        estimator=estimator)
    algo = bench.algorithm
    g = torch.Generator().manual_seed(0)
    algo.mutator.set_sampling('pair', g, arch_grad=True)
    est = time_calls(lambda: estimator_call(algo), warmup * 10, repeats * 20,
                     device)
    fwd = time_calls(lambda: algo.estimator.expected_cost(algo.mutator),
                     warmup * 10, repeats * 20, device)
    with torch.no_grad():
        value = float(algo.estimator.expected_cost(algo.mutator))
    count = {'k': 0}

    def arch_step():
        count['k'] += 1
        algo.train_step(
            search_batch(bench.batch, 'arch', step_seed(0, 'arch', 0,
                                                        count['k'])),
            bench.optim)

    arch = time_calls(arch_step, warmup, repeats, device)
    space = bench.space
    return dict(
        benchmark='estimator',
        space=space.name,
        device=device,
        batch_size=batch_size,
        threads=torch.get_num_threads(),
        estimator=bench.estimator_kind,
        edges=len(algo.mutator.graph.head_edges) +
        len(algo.mutator.graph.terminal_edges),
        mixed_ops=len(algo.mutator.alphas()),
        expected_cost_pair_mode=value,
        estimator_fwd_bwd=est,
        estimator_fwd=fwd,
        arch_step=arch,
        estimator_share_of_arch_step=est['median_s'] / arch['median_s'],
        machine=machine_info(),
        load_before=load_before,
        load_after=load())


def format_report(r: Dict[str, Any]) -> str:
    e, f, a = r['estimator_fwd_bwd'], r['estimator_fwd'], r['arch_step']
    return '\n'.join([
        f"space {r['space']} ({r['edges']} edges, {r['mixed_ops']} mixed ops)"
        f", {r['device']}, arch-step batch {r['batch_size']}, threads "
        f"{r['threads']}, estimator {r['estimator']}, load "
        f"{r['load_before']} -> {r['load_after']}",
        '',
        '| what | median ms | IQR ms | repeats |',
        '|---|---|---|---|',
        f"| expected cost forward | {fmt(f['median_s'] * 1e3)} | "
        f"{fmt(f['iqr_s'] * 1e3)} | {f['repeats']} |",
        f"| expected cost forward + backward | {fmt(e['median_s'] * 1e3)}"
        f" | {fmt(e['iqr_s'] * 1e3)} | {e['repeats']} |",
        f"| arch step (train_step) | {fmt(a['median_s'] * 1e3)} | "
        f"{fmt(a['iqr_s'] * 1e3)} | {a['repeats']} |",
        '',
        f"estimator fwd+bwd / arch step = "
        f"{r['estimator_share_of_arch_step']:.4f}",
    ])
