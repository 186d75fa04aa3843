"""Which kernels a search step spends its CPU time in (torch.profiler).

Builds the benchmark objects of ``tools/benchmark/search_step.py``, runs
one untimed step of each phase, then profiles ``steps`` more and reports
each ATen kernel's share of the self CPU time, the most expensive first.
"""
from typing import Any, Dict, Sequence

from torch.profiler import ProfilerActivity, profile

from .builders import build_bench, env_threads
from .cases import Stepper
from .search_step import quiet_logs
from .settings import SETTINGS


def run(config: str = 'densenas_mbv2_224',
        batch_size: int = 8,
        setting: str = 'default',
        phases: Sequence[str] = ('weight', 'arch'),
        steps: int = 2,
        top: int = 12,
        threads: int = 1) -> Dict[str, Any]:
    """Profile the steps of ``phases`` (CPU) in the step ``setting``.

    Returns:
        dict: Per phase the mean self CPU seconds of a step and the ``top``
        kernels (name, share of the step's self CPU time, calls per step).
    """
    quiet_logs()
    env_threads(threads)
    bench = build_bench(config, device='cpu', batch_size=batch_size,
                        input_size=None, amp=None, channels_last=False,
                        estimator='auto')
    stepper = Stepper(bench)
    stepper.use(SETTINGS[setting])
    out: Dict[str, Any] = dict(benchmark='kernel_profile', config=config,
                               batch_size=batch_size, setting=setting,
                               steps=steps, threads=threads, phases={})
    for phase in phases:
        stepper.step(phase)
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(steps):
                stepper.step(phase)
        events = prof.key_averages()
        total = sum(e.self_cpu_time_total for e in events)
        rows = sorted(events, key=lambda e: -e.self_cpu_time_total)[:top]
        out['phases'][phase] = dict(
            step_self_cpu_s=total / steps / 1e6,
            kernels=[
                dict(name=e.key, share=e.self_cpu_time_total / total,
                     calls_per_step=e.count / steps) for e in rows
            ])
    return out


def format_report(report: Dict[str, Any]) -> str:
    """One markdown table per phase."""
    lines = [f"{report['config']}, batch {report['batch_size']}, CPU, "
             f"{report['threads']} thread(s), setting {report['setting']}, "
             f"{report['steps']} profiled steps per phase"]
    for phase, r in report['phases'].items():
        lines += ['', f"{phase} step: {r['step_self_cpu_s']:.2f} s self CPU "
                  'per step', '', '| kernel | share | calls / step |',
                  '|---|---|---|']
        lines += [f"| `{k['name']}` | {100 * k['share']:.1f} % | "
                  f"{k['calls_per_step']:g} |" for k in r['kernels']]
    return '\n'.join(lines)
