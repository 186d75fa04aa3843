"""Search-step throughput, peak memory and FLOPs of DenseNAS, side by side.

In one process, at one batch size and resolution, this times

  weight       a supernet weight step: the real ``DenseNAS.train_step`` on a
               ``weight`` batch (one op per mixed op from softmax(alpha),
               every head branch weighted by the path probabilities, SGD);
  arch         an architecture step: ``train_step`` on an ``arch`` batch
               (two ops per mixed op, chained expected cost + cost loss,
               Adam on alpha/beta, re-balancing);
  epoch        a search epoch's mix: 4 weight steps + 1 arch step (the
               reference's 80/20 search-train / search-val split), per batch;
  weight_path  a path-sampling weight step (``weight_paths='sampled'``: one
               sampled path runs, unweighted);
  epoch_path   the epoch mix with path-sampling weight steps;
  subnet       a training step of the derived subnet (``DenseNASNet`` of the
               mutator's current derived architecture);
  mbv2         a training step of mmcls ``MobileNetV2`` 1.0;

in each step setting of :mod:`.settings` (``default`` = today's code,
``reference`` = before the fast paths), alternating: every round runs each
case once in each setting (the settings' order flips every round), so the
settings share the machine's load and their ratios are per round. It
reports per setting images/s, median and IQR of the step time, peak memory,
analytic training FLOPs, ratios to ``subnet`` and ``mbv2`` (of the medians,
and the range of the per-round ratios); the per-round speed-up of every
setting over ``reference``; and the losses and gradients of the first
step of each kind in every setting against ``reference`` and float64
(``same_results``, :mod:`.precision`).

Examples::

    python tools/benchmark/search_step.py densenas_demo_32 --batch-size 32 \
        --repeats 10 --out work_dirs/bench/demo_cpu.json
    python tools/benchmark/search_step.py densenas_mbv2_224 --batch-size 8 \
        --repeats 5 --warmup 1 --out work_dirs/bench/mbv2_224_cpu_b8.json
    python tools/benchmark/search_step.py densenas_mbv2_224 --device cuda \
        --batch-size 88 --settings default --amp bf16 --channels-last
"""
import warnings
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch

from densenas_mm.utils.timing import time_samples
from .builders import (Bench, build_bench, build_plain, env_threads,
                       mobilenet_v2_cfg, subnet_cfg)
from .cases import (BATCHES_PER_CALL, CASES, SUPERNET_CASES, Stepper,
                    flops_counter, model_mflops, res_scale, supernet_mflops)
from .machine import load, machine_info
from .measure import timing_summary
from .memory import peak_memory_of
from .precision import compare_settings
from .projection import PAPER_SPACE, paper_search_projection
from .settings import SETTINGS, StepSetting, resolve_settings
from .syncs import count_sync_points

__all__ = ['CASES', 'run', 'compute_ratios', 'round_ratios']


def quiet_logs() -> None:
    """Keep mmengine's init-weights messages out of the tables."""
    from mmengine.logging import MMLogger
    if not MMLogger.check_instance_created('densenas_benchmark'):
        MMLogger.get_instance('densenas_benchmark', log_level='WARNING')


class Calls:
    """The call of every (setting, case) pair, on shared objects.

    Args:
        bench (Bench): The supernet objects.
        plain (dict): ``case -> (model, optim wrapper)`` of the plain cases.
    """

    def __init__(self, bench: Bench,
                 plain: Dict[str, Tuple[Any, Any]]) -> None:
        self.bench = bench
        self.plain = plain
        self.stepper = Stepper(bench)

    def get(self, setting: StepSetting, case: str) -> Callable[[], Any]:
        """Put the objects in ``setting`` and return the call of ``case``.
        """
        if case in SUPERNET_CASES:
            self.stepper.use(setting)
            return self.stepper.case(case)
        model, optim = self.plain[case]
        setting.apply_to_model(model)
        batch = setting.batch_for_model(self.bench.batch, self.bench.device)
        return lambda: model.train_step(batch, optim)


def interleaved_samples(calls: Calls, settings: Sequence[StepSetting],
                        cases: Sequence[str], warmup: int,
                        rounds: int) -> Tuple[Dict, List]:
    """Per-batch seconds of every (setting, case), round by round.

    Each round times every case once in every setting with the project's
    timing loop (:func:`~densenas_mm.utils.timing.time_samples`); the order
    of the settings flips every round.

    Returns:
        tuple: ``samples[setting][case]`` (list of seconds, one per round)
        and the load average after each round.
    """
    for setting in settings:
        for case in cases:
            if warmup:
                time_samples(calls.get(setting, case), warmup, 1)
    samples = {s.name: {c: [] for c in cases} for s in settings}
    loads = []
    for r in range(rounds):
        order = list(settings) if r % 2 == 0 else list(settings)[::-1]
        for setting in order:
            for case in cases:
                sec = time_samples(calls.get(setting, case), 0, 1)[0]
                samples[setting.name][case].append(
                    sec / BATCHES_PER_CALL.get(case, 1))
        loads.append(load())
    return samples, loads


def round_ratios(a: Sequence[float], b: Sequence[float]) -> Dict[str, Any]:
    """Statistics of the per-round ratios ``a[r] / b[r]``."""
    ratios = [x / y for x, y in zip(a, b)]
    stats = timing_summary(ratios)
    return dict(
        median=stats['median_s'],
        q1=stats['q1_s'],
        q3=stats['q3_s'],
        min=stats['min_s'],
        max=stats['max_s'],
        rounds=len(ratios))


def compute_ratios(results: Dict[str, Dict[str, Any]]) -> Dict[str, Any]:
    """Step-time ratios (of the medians) to the subnet and to MobileNetV2,
    and FLOP efficiency (achieved FLOP/s) relative to MobileNetV2."""
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


def _build_plain_cases(bench: Bench, cases: Sequence[str]
                       ) -> Tuple[Dict, Dict[str, float]]:
    plain, flops = {}, {}
    num_classes = bench.algorithm.architecture.head.num_classes
    arch = bench.algorithm.mutator.derived_arch()
    if 'subnet' in cases:
        plain['subnet'] = build_plain(
            subnet_cfg(arch, num_classes), bench.device, bench.amp,
            bench.channels_last, bench.weight_optimizer)
        flops['subnet'] = (flops_counter().estimate(arch)['flops'] *
                           res_scale(bench))
    if 'mbv2' in cases:
        plain['mbv2'] = build_plain(
            mobilenet_v2_cfg(num_classes), bench.device, bench.amp,
            bench.channels_last, bench.weight_optimizer)
        flops['mbv2'] = model_mflops(plain['mbv2'][0], bench.input_size)
    return plain, flops


def run(config: str,
        *,
        device: str = 'cpu',
        batch_size: int = 32,
        input_size: Optional[int] = None,
        repeats: int = 10,
        warmup: int = 3,
        settings: Sequence[str] = tuple(SETTINGS),
        amp: Optional[str] = None,
        channels_last: bool = False,
        threads: int = 1,
        estimator: str = 'auto',
        cases: Sequence[str] = CASES,
        precision: bool = True,
        float64: bool = True,
        sync_counts: bool = False) -> Dict[str, Any]:
    """Run the search-step benchmark and return its report.

    Args:
        config (str): A search config (its model and optimiser recipe), a
            search-space preset name or file (with the recipe of the search
            configs, :func:`~.builders.build_bench`).
        device (str): ``'cpu'`` or ``'cuda'``.
        batch_size (int): Images per step.
        input_size (int, optional): Default: the space's input size.
        repeats (int): Interleaved rounds.
        warmup (int): Untimed calls of every case and setting first.
        settings (Sequence[str]): Names of :data:`~.settings.SETTINGS`.
        amp (str, optional): ``'bf16'`` or ``'fp16'``.
        channels_last (bool): Channels-last in the default setting.
        threads (int): Intra-op threads on CPU (0: torch's default).
        estimator (str): ``'auto'``, ``'reference'``, ``'flops'`` or a LUT.
        cases (Sequence[str]): Subset of :data:`CASES`.
        precision (bool): Compare losses and gradients of the settings.
        float64 (bool): ... against a float64 step too.
        sync_counts (bool): Count host-device sync points per step.

    Raises:
        ValueError: For unknown cases or settings, non-positive counts, or
            ``device='cuda'`` without CUDA.
    """
    bad = sorted(set(cases) - set(CASES))
    if bad or not cases:
        raise ValueError(f'cases: unknown or no names {bad}; choose from '
                         f'{",".join(CASES)}')
    if repeats < 1 or warmup < 0 or batch_size < 1:
        raise ValueError('repeats and batch_size must be >= 1, warmup >= 0')
    quiet_logs()
    if device == 'cuda' and not torch.cuda.is_available():
        raise ValueError("device='cuda': CUDA is not available here")
    if device == 'cpu' and threads:
        env_threads(threads)
    if amp and device == 'cpu':
        warnings.warn('--amp on CPU: bf16 autocast; the depthwise '
                      'convolutions then use PyTorch\'s weight gradient')
    load_before = load()
    bench = build_bench(
        config,
        device=device,
        batch_size=batch_size,
        input_size=input_size,
        amp=amp,
        channels_last=channels_last,
        estimator=estimator)
    steps = resolve_settings(list(settings), channels_last)
    cases = [c for c in CASES if c in cases]
    flops = supernet_mflops(bench)
    plain, plain_flops = _build_plain_cases(bench, cases)
    flops.update(plain_flops)
    calls = Calls(bench, plain)
    same = (compare_settings(bench, steps, float64=float64)
            if precision else None)
    samples, loads = interleaved_samples(calls, steps, cases, warmup,
                                         repeats)
    nb = batch_size
    results: Dict[str, Dict[str, Dict[str, Any]]] = {}
    for setting in steps:
        res = results[setting.name] = {}
        for case in cases:
            r = timing_summary(samples[setting.name][case])
            r.update(peak_memory_of(calls.get(setting, case), device))
            r['images_per_s'] = nb / r['median_s']
            r['forward_mflops_per_image'] = flops[case]
            r['train_gflops_per_step'] = 3 * flops[case] * nb / 1e3
            r['achieved_gflops_per_s'] = (r['train_gflops_per_step'] /
                                          r['median_s'])
            res[case] = r
    ratios = {s: compute_ratios(r) for s, r in results.items()}
    spread = {
        s: {
            f'{case}_vs_{ref}': round_ratios(samples[s][case],
                                             samples[s][ref])
            for ref in ('subnet', 'mbv2', 'weight') if ref in cases
            for case in cases if case != ref
        }
        for s in samples
    }
    speedup = None
    if 'reference' in samples and len(samples) > 1:
        speedup = {
            name: {
                case: round_ratios(samples[name][case],
                                   samples['reference'][case])
                for case in cases
            }
            for name in samples if name != 'reference'
        }
    syncs = None
    if sync_counts:
        calls.stepper.use(steps[0])
        syncs = dict(
            weight=count_sync_points(calls.stepper.case('weight')),
            weight_path=count_sync_points(calls.stepper.case('weight_path')),
            arch=count_sync_points(calls.stepper.case('arch')),
            note=('counted with a dispatch mode; item counts include CPU '
                  "scalars (Adam's per-parameter step counters) that do not "
                  'sync; set_sampling adds one device-to-host copy of the '
                  'alphas (and betas) per step on CUDA (not seen on CPU)'))
    return dict(
        benchmark='search_step',
        config=config,
        space=bench.space.name,
        device=device,
        batch_size=nb,
        input_size=bench.input_size,
        amp=amp,
        channels_last=channels_last,
        settings={s.name: s.to_dict()
                  for s in steps},
        rounds=repeats,
        warmup=warmup,
        threads=torch.get_num_threads(),
        estimator=bench.estimator_kind,
        derived_arch=bench.algorithm.mutator.derived_arch().to_net_config(),
        flops_note=(
            'analytic conv/linear mult-adds; training = 3 x forward; '
            'supernet: mean over 32 sampled steps of the ops in play' +
            ('' if res_scale(bench) == 1 else
             f'; scaled by (input/space input)^2 = {res_scale(bench):.3f}')),
        machine=machine_info(),
        load_before=load_before,
        load_rounds=loads,
        load_after=load(),
        same_results=same,
        results=results,
        ratios=ratios,
        round_ratios=spread,
        speedup=speedup,
        sync_points=syncs,
        projection=(paper_search_projection(results, nb)
                    if bench.space.name == PAPER_SPACE else None))
