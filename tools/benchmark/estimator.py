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
import argparse
import os.path as osp
import sys
from typing import Any, Dict, List, Optional

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

import torch  # noqa: E402

import bench_builders as B  # noqa: E402
import bench_common as C  # noqa: E402

from densenas_mm.utils.io import dump_json_atomic  # noqa: E402
from densenas_mm.models.algorithms.densenas import (search_batch,  # noqa
                                                    step_seed)


def estimator_call(algo) -> None:
    """One expected-cost forward + backward, grads cleared afterwards."""
    cost = algo.estimator.expected_cost(algo.mutator)
    cost.backward()
    for p in algo.mutator.arch_params.values():
        p.grad = None


def run(args) -> Dict[str, Any]:
    from mmengine.logging import MMLogger
    if not MMLogger.check_instance_created('densenas_benchmark'):
        MMLogger.get_instance('densenas_benchmark', log_level='WARNING')
    if args.device == 'cuda' and not torch.cuda.is_available():
        raise SystemExit('--device cuda: CUDA is not available here')
    if args.device == 'cpu' and args.threads:
        B.env_threads(args.threads)
    load_before = C.load()
    bench = B.build_bench(
        args.config,
        device=args.device,
        batch_size=args.batch_size,
        estimator=args.estimator)
    algo = bench.algorithm
    g = torch.Generator().manual_seed(0)
    algo.mutator.set_sampling('pair', g, arch_grad=True)
    est = C.time_calls(lambda: estimator_call(algo), args.device,
                       args.warmup * 10, args.repeats * 20)
    fwd = C.time_calls(
        lambda: algo.estimator.expected_cost(algo.mutator), args.device,
        args.warmup * 10, args.repeats * 20)
    with torch.no_grad():
        value = float(algo.estimator.expected_cost(algo.mutator))
    count = {'k': 0}

    def arch_step():
        count['k'] += 1
        algo.train_step(
            search_batch(bench.batch, 'arch', step_seed(0, 'arch', 0,
                                                        count['k'])),
            bench.optim)

    arch = C.time_calls(arch_step, args.device, args.warmup, args.repeats)
    space = bench.space
    return dict(
        benchmark='estimator',
        space=space.name,
        device=args.device,
        batch_size=args.batch_size,
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
        machine=C.machine_info(),
        load_before=load_before,
        load_after=C.load())


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
        f"| expected cost forward | {C.fmt(f['median_s'] * 1e3)} | "
        f"{C.fmt(f['iqr_s'] * 1e3)} | {f['repeats']} |",
        f"| expected cost forward + backward | {C.fmt(e['median_s'] * 1e3)}"
        f" | {C.fmt(e['iqr_s'] * 1e3)} | {e['repeats']} |",
        f"| arch step (train_step) | {C.fmt(a['median_s'] * 1e3)} | "
        f"{C.fmt(a['iqr_s'] * 1e3)} | {a['repeats']} |",
        '',
        f"estimator fwd+bwd / arch step = "
        f"{r['estimator_share_of_arch_step']:.4f}",
    ])


def parse_args(argv: Optional[List[str]] = None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config', nargs='?', default='densenas_mbv2_224')
    p.add_argument('--device', choices=['cpu', 'cuda'], default='cpu')
    p.add_argument('--batch-size', type=int, default=2)
    p.add_argument('--repeats', type=int, default=5)
    p.add_argument('--warmup', type=int, default=1)
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--estimator', default='auto')
    p.add_argument('--out', default=None)
    return p.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> Dict[str, Any]:
    args = parse_args(argv)
    report = run(args)
    print(format_report(report))
    if args.out:
        dump_json_atomic(report, args.out, indent=2)
        print(f'wrote {args.out}')
    return report


if __name__ == '__main__':
    main()
