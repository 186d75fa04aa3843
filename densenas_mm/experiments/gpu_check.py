"""The prepared first-GPU check (issue 26): does a search run right on CUDA?

Four stages on the demo search model (its config, the FLOPs cost so no
table is needed), each writing ``<stage>.json`` to the output folder as
soon as it finishes (a crash in a later stage keeps the earlier results),
then ``summary.json``:

``cuda_vs_cpu``
    The same model (one initialisation, copied) and the same batches on
    the CPU and on the device: warm-up, weight and architecture steps with
    the same sampling seeds. Passes when the expected cost agrees within
    1e-6 (relative) and every step's loss and the architecture step's alpha
    update agree within 1e-4 (absolute, on values of order 1).
``amp``
    Alpha/beta gradients of one architecture step under autocast (float16
    with the architecture scaler's initial loss scale, bfloat16) against
    float32 on the device. Passes when every cosine similarity is > 0.99.
``latency_table``
    The project's table builder on the device over the demo space (a small
    chunk of what a paper table measures): passes when it timed with the
    ``cuda`` clock (CUDA events over k back-to-back calls) and recorded the
    cuDNN / TF32 flags and k. With >= 2 GPUs it also times one conv block on
    ``cuda:0`` and ``cuda:1`` (``second_device``): the medians must agree
    within :data:`AGREE_RTOL`; the old clock's numbers (wall clock, current
    device synchronised only) are reported beside them.
``ddp``
    Two ranks: NCCL on two GPUs when there are >= 2, else gloo with both
    ranks on ``cuda:0``; warm-up, weight and architecture steps through
    :class:`~densenas_mm.models.algorithms.DenseNASDDP` with per-step
    wall time, the elements and bytes DDP's reducer all-reduces (a
    communication hook) and those of every other all-reduce. Passes when
    architecture steps all-reduce exactly the alpha+beta elements beside
    the step guards' three flags, and the ranks agree
    (:func:`~densenas_mm.models.algorithms.ddp.check_ranks_agree`).

``dry_run=True`` runs every stage on the CPU (gloo), small and quick: the
test of this module and a rehearsal before a GPU is lent. The demo model
and batches all stages use: :mod:`.gpu_demo`; the ``ddp`` stage:
:mod:`.ddp_check`.
"""
import copy
import math
import os.path as osp
import time
from contextlib import nullcontext
from typing import Any, Callable, Dict, Optional, Sequence

import torch

from densenas_mm.utils.io import dump_json_atomic, prepare_output_dir
from .ddp_check import stage_ddp
from .gpu_demo import (PHASES, alphas, build_demo, build_optim, demo_batch,
                       tagged_batch)

STAGES = ('cuda_vs_cpu', 'amp', 'latency_table', 'ddp')
#: Tolerances of the ``cuda_vs_cpu`` and ``amp`` stages (the issue's).
COST_RTOL = 1e-6
STEP_ATOL = 1e-4
MIN_COSINE = 0.99
#: Largest relative difference of one module's latency on cuda:0 and
#: cuda:1 (same GPU model) that counts as agreement.
AGREE_RTOL = 0.1


# ------------------------------------------------------------- stage 1
def stage_cuda_vs_cpu(device: str, batch_size: int) -> Dict[str, Any]:
    """See the module doc (``cuda_vs_cpu``)."""
    ref = build_demo()
    dev = copy.deepcopy(ref).to(device)
    models = dict(cpu=(ref, build_optim(ref)), device=(dev, build_optim(dev)))
    costs = {k: float(m.expected_cost()) for k, (m, _) in models.items()}
    result: Dict[str, Any] = dict(
        expected_cost=costs,
        expected_cost_rel_diff=abs(costs['cpu'] - costs['device']) /
        max(abs(costs['cpu']), 1e-12),
        loss_diff={},
        losses={})
    for k, phase in enumerate(PHASES):
        before = {name: alphas(m) for name, (m, _) in models.items()}
        losses = {}
        for name, (model, optim) in models.items():
            log = model.train_step(tagged_batch(phase, k, batch_size), optim)
            key = 'arch_loss' if phase == 'arch' else 'loss'
            losses[name] = float(log[key].detach())
        result['losses'][phase] = losses
        result['loss_diff'][phase] = abs(losses['cpu'] - losses['device'])
        if phase == 'arch':
            updates = {
                name: alphas(m) - before[name]
                for name, (m, _) in models.items()
            }
            result['alpha_update_max'] = float(updates['cpu'].abs().max())
            result['alpha_update_diff'] = float(
                (updates['cpu'] - updates['device']).abs().max())
    result['passed'] = bool(result['expected_cost_rel_diff'] <= COST_RTOL
                            and max(result['loss_diff'].values()) <= STEP_ATOL
                            and result['alpha_update_diff'] <= STEP_ATOL
                            and result['alpha_update_max'] > 0)
    return result


# ------------------------------------------------------------- stage 2
def arch_gradient(algo: Any,
                  batch: Dict[str, Any],
                  seed: int,
                  dtype: Optional[torch.dtype] = None,
                  loss_scale: float = 1.0) -> torch.Tensor:
    """Alpha/beta gradient of one architecture-step loss (CE + cost term),
    optionally under autocast to ``dtype`` with the loss multiplied by
    ``loss_scale`` (and the gradient divided by it, as a scaler does).
    Changes no parameter and no ``.grad``.

    Returns:
        Tensor: The flattened gradient (float64, CPU; zeros where an arch
        parameter got none).
    """
    params = list(algo.mutator.arch_params.values())
    device = params[0].device
    algo.mutator.set_sampling(
        'pair', torch.Generator().manual_seed(seed), arch_grad=True)
    context = (
        torch.autocast(device.type, dtype=dtype)
        if dtype is not None else nullcontext())
    with context:
        data = algo.data_preprocessor(batch, True)
        losses = algo.loss(data['inputs'], data['data_samples'], phase='arch')
    loss, _ = algo.parse_losses(losses)
    grads = torch.autograd.grad(loss * loss_scale, params, allow_unused=True)
    return torch.cat([(torch.zeros_like(p) if g is None else g.float() /
                       loss_scale).double().cpu().reshape(-1)
                      for p, g in zip(params, grads)])


def cosine(a: torch.Tensor, b: torch.Tensor) -> float:
    """Cosine similarity of two vectors (0 if either is zero)."""
    norm = float(a.norm() * b.norm())
    return float(a @ b) / norm if norm > 0 else 0.0


def stage_amp(device: str, batch_size: int) -> Dict[str, Any]:
    """See the module doc (``amp``)."""
    from densenas_mm.apis.cfg_adjust import ARCH_LOSS_SCALE
    algo = build_demo().to(device)
    batch = demo_batch(batch_size, seed=7)
    ref = arch_gradient(algo, batch, seed=3)
    result: Dict[str, Any] = dict(
        reference_norm=float(ref.norm()), cosine={}, finite={})
    scales = dict(float16=float(ARCH_LOSS_SCALE['init_scale']), bfloat16=1.0)
    for name, scale in scales.items():
        grad = arch_gradient(
            algo, batch, seed=3, dtype=getattr(torch, name), loss_scale=scale)
        result['finite'][name] = bool(torch.isfinite(grad).all())
        result['cosine'][name] = cosine(ref, grad)
    result['loss_scale'] = scales
    result['passed'] = bool(
        all(result['finite'].values())
        and min(result['cosine'].values()) > MIN_COSINE)
    return result


# ------------------------------------------------------------- stage 3
def backend_flags() -> Dict[str, Any]:
    """cuDNN / TF32 settings in effect (they change GPU timings): those a
    GPU latency table records, and cuDNN's deterministic mode."""
    from densenas_mm.latency.measure import cuda_flags
    return dict(
        cuda_flags(),
        cudnn_deterministic=bool(torch.backends.cudnn.deterministic))


def timing_agreement(devices: Sequence[str],
                     batch_size: int,
                     size: int,
                     repeats: int = 20) -> Dict[str, Any]:
    """Time one conv block on each of ``devices`` with the project's clock
    (CUDA events, the device made current) and, for contrast, with the old
    one (the wall clock synchronising the current device only, one call per
    sample, the device not set: on ``cuda:1`` it timed only the launches).

    Args:
        devices (Sequence[str]): Where to time the same module (e.g.
            ``['cuda:0', 'cuda:1']``).
        batch_size (int): Batch of the input.
        size (int): Height and width of the input.
        repeats (int): Samples per device and clock.

    Returns:
        dict: ``ms`` (median per device, project clock), ``old_clock_ms``
        (the same with the old clock), ``rel_diff`` (of the project
        clock's medians, relative to the first device) and ``passed``
        (``rel_diff <= AGREE_RTOL``).
    """
    from densenas_mm.latency import time_module
    from densenas_mm.utils.timing import timed
    torch.manual_seed(0)
    block = torch.nn.Sequential(
        torch.nn.Conv2d(64, 64, 3, padding=1, bias=False),
        torch.nn.BatchNorm2d(64), torch.nn.ReLU(inplace=True)).eval()
    x = torch.randn(batch_size, 64, size, size)
    new, old = {}, {}
    for device in devices:
        module, inp = copy.deepcopy(block).to(device), x.to(device)
        new[device] = time_module(
            module, inp, warmup=5, min_repeats=repeats,
            max_repeats=repeats).stats.median
        with torch.no_grad():
            old[device] = timed(
                lambda m=module, i=inp: m(i),
                unit='ms',
                warmup=5,
                min_repeats=repeats,
                clock='wall').stats.median
    first = new[devices[0]]
    rel_diff = max(abs(v - first) / first for v in new.values())
    return dict(
        devices=list(devices),
        input=[batch_size, 64, size, size],
        ms=new,
        old_clock_ms=old,
        rel_diff=rel_diff,
        passed=rel_diff <= AGREE_RTOL)


def stage_latency_table(device: str, out_dir: str,
                        dry_run: bool) -> Dict[str, Any]:
    """See the module doc (``latency_table``)."""
    from densenas_mm.latency import build_latency_table
    from densenas_mm.latency.schema import CALLS_KEY, CUDA_FLAGS
    from densenas_mm.search_space import load_preset
    on_cuda = torch.device(device).type == 'cuda'
    path = osp.join(out_dir, 'latency_chunk.json')
    timing = (
        dict(
            batch_size=2,
            rounds=2,
            warmup=1,
            min_repeats=1,
            max_repeats=2,
            max_seconds=0.01,
            extra_rounds=0,
            max_noisy=1.0) if dry_run else dict(
                batch_size=32, rounds=3, max_noisy=1.0))
    start = time.perf_counter()
    table, report = build_latency_table(
        load_preset('densenas_demo_32'),
        device=device,
        out=path,
        resume=False,
        progress=False,
        **timing)
    seconds = time.perf_counter() - start
    values = [float(e['latency']) for e in table.entries.values()]
    meta = table.metadata
    recorded = {k: meta[k] for k in CUDA_FLAGS if k in meta}
    # the same module on cuda:0 and cuda:1 (on the CPU twice when dry)
    if on_cuda and torch.cuda.device_count() >= 2:
        second = timing_agreement(['cuda:0', 'cuda:1'], 32, 56)
    elif dry_run:
        second = timing_agreement(['cpu', 'cpu'], 2, 8, repeats=3)
    else:
        second = dict(skipped='fewer than 2 GPUs', passed=True)
    clock_ok = (meta.get('clock') == 'cuda' and meta.get(CALLS_KEY)
                and set(recorded) == set(CUDA_FLAGS)) if on_cuda else (
                    not recorded and CALLS_KEY not in meta)
    return dict(
        table=path,
        seconds_building=seconds,
        entries=len(values),
        median_ms=sorted(values)[len(values) // 2] if values else None,
        clock=meta.get('clock'),
        calls_per_sample=meta.get(CALLS_KEY),
        recorded_flags=recorded,
        flags=backend_flags(),
        settings=timing,
        second_device=second,
        passed=bool(values)
        and all(math.isfinite(v) and v > 0 for v in values) and bool(clock_ok)
        and bool(second['passed']))


# ---------------------------------------------------------------- runner
def gpu_check_status(out_dir: str, **kwargs: Any) -> int:
    """:func:`run_gpu_check` as an exit status.

    Args:
        out_dir (str): Output folder (created).
        **kwargs: :func:`run_gpu_check`'s other arguments.

    Returns:
        int: 0 when every stage passed, else 1.
    """
    summary = run_gpu_check(out_dir, **kwargs)
    return 0 if all(r['passed'] for r in summary.values()) else 1


def run_gpu_check(out_dir: str,
                  dry_run: bool = False,
                  stages: Sequence[str] = STAGES,
                  batch_size: Optional[int] = None,
                  ddp_steps: Optional[int] = None,
                  log: Callable[[str], Any] = print) -> Dict[str, Any]:
    """Run the stages (see the module doc); each writes ``<stage>.json``.

    Args:
        out_dir (str): Output folder (created).
        dry_run (bool): Every stage on the CPU, small.
        stages (Sequence[str]): A subset of :data:`STAGES`, in order.
        batch_size (int, optional): Images per step (16 on a GPU, 4 dry).
        ddp_steps (int, optional): Steps per phase in the ``ddp`` stage
            (10 on a GPU, 1 dry).
        log (callable): Progress lines.

    Returns:
        dict: Stage -> its result (``passed``, ``seconds``, numbers), as in
        ``summary.json``.

    Raises:
        ValueError: On an unknown stage.
        ValueError: Without ``dry_run`` on a machine without CUDA.
    """
    bad = [s for s in stages if s not in STAGES]
    if bad:
        raise ValueError(f'unknown stage(s) {bad}; stages are {STAGES}')
    if not dry_run and not torch.cuda.is_available():
        raise ValueError('no CUDA device here: run on a GPU machine, or '
                         'add --dry-run to rehearse every stage on the CPU')
    out_dir = prepare_output_dir(out_dir)
    device = 'cpu' if dry_run else 'cuda:0'
    batch_size = batch_size or (4 if dry_run else 16)
    ddp_steps = ddp_steps or (1 if dry_run else 10)
    runs = dict(
        cuda_vs_cpu=lambda: stage_cuda_vs_cpu(device, batch_size),
        amp=lambda: stage_amp(device, batch_size),
        latency_table=lambda: stage_latency_table(device, out_dir, dry_run),
        ddp=lambda: stage_ddp(device, out_dir, batch_size, ddp_steps))
    summary: Dict[str, Any] = {}
    for stage in stages:
        log(f'[gpu_check] {stage} ...')
        start = time.perf_counter()
        result = runs[stage]()
        result.update(
            stage=stage,
            seconds=time.perf_counter() - start,
            device=device,
            dry_run=dry_run,
            torch=torch.__version__,
            cuda=torch.version.cuda,
            gpu=(torch.cuda.get_device_name(0)
                 if torch.cuda.is_available() else None))
        dump_json_atomic(result, osp.join(out_dir, f'{stage}.json'))
        summary[stage] = result
        log(f'[gpu_check] {stage}: '
            f'{"passed" if result["passed"] else "FAILED"} '
            f'({result["seconds"]:.1f} s)')
    dump_json_atomic(
        {
            k: {
                key: v[key]
                for key in ('passed', 'seconds', 'device', 'dry_run')
            }
            for k, v in summary.items()
        }, osp.join(out_dir, 'summary.json'))
    return summary
