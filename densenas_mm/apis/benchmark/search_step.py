"""Search-step throughput, peak memory and FLOPs of DenseNAS, side by side.

In one process, at one batch size and resolution, this times

  (a) weight   a supernet weight step: the real ``DenseNAS.train_step`` on a
               ``weight`` batch (mutator 'sample' mode, SGD on the weights);
  (b) arch     an architecture step: ``train_step`` on an ``arch`` batch
               (mutator 'pair' mode, chained expected cost + cost loss, Adam
               on alpha/beta, re-balancing);
  (c) epoch    a search epoch's mix: cycles of 4 weight steps + 1 arch step
               (the reference's 80/20 search-train / search-val split),
               reported per batch;
  (d) subnet   a training step of the derived subnet (``DenseNASNet`` of the
               mutator's current derived architecture);
  (e) mbv2     a training step of mmcls ``MobileNetV2`` 1.0;

and prints images/s, median step time and IQR, peak memory, analytic
training FLOPs (3 x forward mult-adds), step-time ratios to (d) and the
FLOP-normalised efficiency (achieved FLOP/s relative to (e)).

Examples::

    python tools/benchmark/search_step.py densenas_demo_32 --device cpu \
        --batch-size 32 --repeats 10 --out work_dirs/bench/demo_cpu.json
    python tools/benchmark/search_step.py densenas_mbv2_224 --device cpu \
        --batch-size 8 --repeats 5 --warmup 2
    python tools/benchmark/search_step.py densenas_mbv2_224 --device cuda \
        --batch-size 88 --amp bf16 --channels-last
"""
import warnings
from typing import Any, Dict

import torch

from densenas_mm.models.algorithms import search_batch, step_seed
from densenas_mm.models.estimators import ChainedLatencyEstimator
from .builders import (Bench, build_bench, build_plain, env_threads,
                       mobilenet_v2_cfg, subnet_cfg)
from .machine import fmt, load, machine_info
from .measure import time_calls
from .memory import peak_memory_of
from .syncs import count_sync_points

CASES = ('weight', 'arch', 'epoch', 'subnet', 'mbv2')
WEIGHT_SHARE = 0.8  # search-train share of the search data (reference)


# --------------------------------------------------------------- FLOPs
def flops_counter():
    """An estimator of the FLOPs metric (for per-op and per-net counts)."""
    return ChainedLatencyEstimator(metric='flops', target_device=None)


def active_forward_mflops(mutator, costs) -> float:
    """Forward M mult-adds per image of the ops currently in play.

    Every head branch and terminal branch runs (paths are not sampled); per
    mixed op the candidates set active by the mutator run.
    """
    total = costs.stem + costs.classifier + sum(costs.terminals.values())
    for table in (costs.heads, costs.stacks):
        for alias, vec in table.items():
            idx = mutator._ops[alias].active
            idx = range(len(vec)) if idx is None else idx
            total += sum(vec[i] for i in idx)
    return total


def supernet_mflops(bench: Bench, mode: str, samples: int = 32) -> float:
    """Mean forward M mult-adds per image over sampled steps of ``mode``.

    The samples use the same seed derivation as the timed steps; the mutator
    state is restored afterwards by the next real step.
    """
    algo = bench.algorithm
    costs = flops_counter().space_costs(bench.space, 'flops')
    vals = []
    for k in range(samples):
        g = torch.Generator().manual_seed(
            step_seed(0, 'arch' if mode == 'pair' else 'weight', 0, k))
        algo.mutator.set_sampling(mode, g)
        vals.append(active_forward_mflops(algo.mutator, costs))
    return sum(vals) / len(vals) * _res_scale(bench)


def _res_scale(bench: Bench) -> float:
    return (bench.input_size / bench.space.input_size)**2


def model_mflops(model, input_size: int) -> float:
    """Forward M mult-adds per image of a plain mmcls classifier (mmrazor
    counters, conv/linear only, as the analytic convention)."""
    return flops_counter().estimate(
        model, flops_params_cfg=dict(
            input_shape=(1, 3, input_size, input_size)))['flops']


# ----------------------------------------------------------------- cases
class Stepper:
    """Calls the real train steps (search phase) with fresh seeds."""

    def __init__(self, bench: Bench) -> None:
        self.bench = bench
        self.count = {'weight': 0, 'arch': 0}

    def step(self, phase: str):
        k = self.count[phase]
        self.count[phase] += 1
        data = search_batch(self.bench.batch, phase,
                            step_seed(0, phase, 0, k))
        return self.bench.algorithm.train_step(data, self.bench.optim)

    def weight(self):
        return self.step('weight')

    def arch(self):
        return self.step('arch')

    def epoch_cycle(self):
        for _ in range(4):
            self.step('weight')
        self.step('arch')


def measure(fn, bench: Bench, warmup: int, repeats: int,
            per_call_batches: int = 1) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    timing = time_calls(fn, warmup, repeats)
    out.update(peak_memory_of(fn, bench.device))
    scale = 1.0 / per_call_batches
    for key in ('median_s', 'q1_s', 'q3_s', 'iqr_s', 'min_s', 'max_s',
                'cuda_event_median_s'):
        if key in timing:
            out[key] = timing[key] * scale
    out['repeats'] = timing['repeats']
    out['images_per_s'] = bench.batch['inputs'].shape[0] / out['median_s']
    out['load_after'] = load()
    return out


def quiet_logs() -> None:
    """Keep mmengine's init-weights messages out of the tables."""
    from mmengine.logging import MMLogger
    if not MMLogger.check_instance_created('densenas_benchmark'):
        MMLogger.get_instance('densenas_benchmark', log_level='WARNING')


def run(args) -> Dict[str, Any]:
    quiet_logs()
    if args.device == 'cuda' and not torch.cuda.is_available():
        raise SystemExit('--device cuda: CUDA is not available here')
    if args.device == 'cpu' and args.threads:
        env_threads(args.threads)
    if args.channels_last and args.device == 'cpu':
        warnings.warn('channels_last on CPU: measured, but the switch is '
                      'meant for GPUs (cuDNN NHWC kernels)')
    load_before = load()
    bench = build_bench(
        args.config,
        device=args.device,
        batch_size=args.batch_size,
        input_size=args.input_size,
        amp=args.amp,
        channels_last=args.channels_last,
        estimator=args.estimator)
    stepper = Stepper(bench)
    nb = args.batch_size
    cases = [c for c in CASES if c in args.cases]
    results: Dict[str, Dict[str, Any]] = {}
    flops: Dict[str, float] = {}
    flops['weight'] = supernet_mflops(bench, 'sample')
    flops['arch'] = supernet_mflops(bench, 'pair')
    flops['epoch'] = (WEIGHT_SHARE * flops['weight'] +
                      (1 - WEIGHT_SHARE) * flops['arch'])
    if 'weight' in cases:
        results['weight'] = measure(stepper.weight, bench, args.warmup,
                                    args.repeats)
    if 'arch' in cases:
        results['arch'] = measure(stepper.arch, bench, args.warmup,
                                  args.repeats)
    if 'epoch' in cases:
        cycles = max(2, args.repeats // 2 + 1)
        results['epoch'] = measure(stepper.epoch_cycle, bench,
                                   max(1, args.warmup // 5), cycles, 5)
    arch = bench.algorithm.mutator.derived_arch()
    num_classes = bench.algorithm.architecture.head.num_classes
    if 'subnet' in cases:
        model, optim = build_plain(
            subnet_cfg(arch, num_classes), args.device, args.amp,
            args.channels_last)
        flops['subnet'] = (flops_counter().estimate(arch)['flops'] *
                           _res_scale(bench))
        results['subnet'] = measure(
            lambda: model.train_step(bench.batch, optim), bench, args.warmup,
            args.repeats)
        del model, optim
    if 'mbv2' in cases:
        model, optim = build_plain(
            mobilenet_v2_cfg(num_classes), args.device, args.amp,
            args.channels_last)
        flops['mbv2'] = model_mflops(model, bench.input_size)
        results['mbv2'] = measure(
            lambda: model.train_step(bench.batch, optim), bench, args.warmup,
            args.repeats)
        del model, optim
    for name, r in results.items():
        r['forward_mflops_per_image'] = flops.get(name)
        r['train_gflops_per_step'] = 3 * flops[name] * nb / 1e3
        r['achieved_gflops_per_s'] = r['train_gflops_per_step'] / r[
            'median_s']
    ratios = compute_ratios(results)
    syncs = None
    if args.sync_counts:
        syncs = dict(
            weight=count_sync_points(stepper.weight),
            arch=count_sync_points(stepper.arch),
            note=('counted with a dispatch mode; item counts include CPU '
                  "scalars (Adam's per-parameter step counters) that do not "
                  'sync; set_sampling adds one device-to-host copy of the '
                  'alphas per step on CUDA (not seen on CPU)'))
    return dict(
        benchmark='search_step',
        config=args.config,
        space=bench.space.name,
        device=args.device,
        batch_size=nb,
        input_size=bench.input_size,
        amp=args.amp,
        channels_last=args.channels_last,
        sync_points=syncs,
        threads=torch.get_num_threads(),
        estimator=bench.estimator_kind,
        derived_arch=arch.to_net_config(),
        flops_note=('analytic conv/linear mult-adds; training = 3 x forward;'
                    ' supernet: mean over 32 sampled steps of the ops in '
                    'play (all head/terminal branches run)' +
                    ('' if _res_scale(bench) == 1 else
                     f'; scaled by (input/space input)^2 = '
                     f'{_res_scale(bench):.3f}')),
        machine=machine_info(),
        load_before=load_before,
        load_after=load(),
        results=results,
        ratios=ratios)


def compute_ratios(results: Dict[str, Dict[str, Any]]) -> Dict[str, Any]:
    """Step-time ratios to the subnet (d) and to MobileNetV2 (e), and FLOP
    efficiency (achieved FLOP/s) relative to (e)."""
    out: Dict[str, Any] = {}
    for ref in ('subnet', 'mbv2'):
        if ref not in results:
            continue
        t_ref = results[ref]['median_s']
        out[f'time_vs_{ref}'] = {
            k: v['median_s'] / t_ref
            for k, v in results.items()
        }
    if 'mbv2' in results:
        f_ref = results['mbv2']['achieved_gflops_per_s']
        out['flop_efficiency_vs_mbv2'] = {
            k: v['achieved_gflops_per_s'] / f_ref
            for k, v in results.items()
        }
    return out


def format_table(report: Dict[str, Any]) -> str:
    """Markdown table of a report."""
    res = report['results']
    ratios = report['ratios']
    lines = [
        f"space {report['space']}, {report['device']}, batch "
        f"{report['batch_size']}, input {report['input_size']}, amp "
        f"{report['amp']}, channels_last {report['channels_last']}, threads "
        f"{report['threads']}, load {report['load_before']} -> "
        f"{report['load_after']}",
        '',
        '| step | images/s | median ms | IQR ms | peak mem MiB | fwd MFLOPs'
        '/img | train GFLOPs/step | GFLOP/s | time / subnet | time / mbv2 |'
        ' FLOP eff. / mbv2 |',
        '|---|---|---|---|---|---|---|---|---|---|---|',
    ]
    for name in CASES:
        if name not in res:
            continue
        r = res[name]
        lines.append('| ' + ' | '.join([
            name,
            fmt(r['images_per_s']),
            fmt(r['median_s'] * 1e3),
            fmt(r['iqr_s'] * 1e3),
            fmt(r.get('peak_mem_mib')),
            fmt(r['forward_mflops_per_image']),
            fmt(r['train_gflops_per_step']),
            fmt(r['achieved_gflops_per_s']),
            fmt(ratios.get('time_vs_subnet', {}).get(name)),
            fmt(ratios.get('time_vs_mbv2', {}).get(name)),
            fmt(ratios.get('flop_efficiency_vs_mbv2', {}).get(name)),
        ]) + ' |')
    return '\n'.join(lines)
