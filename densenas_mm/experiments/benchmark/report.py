"""Markdown tables of a search-step benchmark report (docs/benchmarks.md
holds them as printed)."""
from typing import Any, Dict, List

from .cases import CASES
from .machine import fmt


def _range(r: Dict[str, Any]) -> str:
    return f"{fmt(r['min'])}-{fmt(r['max'])}"


def header(report: Dict[str, Any]) -> str:
    """The one-line description of a run."""
    return (f"space {report['space']}, {report['device']}, batch "
            f"{report['batch_size']}, input {report['input_size']}, amp "
            f"{report['amp']}, threads {report['threads']}, "
            f"{report['rounds']} interleaved rounds after {report['warmup']} "
            f"warm-up call(s), estimator: {report['estimator']}; load "
            f"{report['load_before']} -> {report['load_after']}")


def settings_table(report: Dict[str, Any]) -> List[str]:
    """Step times of every setting, with ratios to subnet and MobileNetV2.
    """
    lines = [
        '| setting | step | images/s | median ms | IQR ms | peak mem MiB |'
        ' fwd MFLOPs/img | GFLOP/s | time / subnet (rounds) | time / mbv2 '
        '(rounds) |', '|---|---|---|---|---|---|---|---|---|---|'
    ]
    for name, res in report['results'].items():
        spread = report['round_ratios'][name]
        ratios = report['ratios'][name]
        for case in CASES:
            if case not in res:
                continue
            r = res[case]
            cells = []
            for ref in ('subnet', 'mbv2'):
                value = ratios.get(f'time_vs_{ref}', {}).get(case)
                key = f'{case}_vs_{ref}'
                cells.append(
                    fmt(value) +
                    (f' ({_range(spread[key])})' if key in spread else ''))
            lines.append('| ' + ' | '.join([
                name, case,
                fmt(r['images_per_s']),
                fmt(r['median_s'] * 1e3),
                fmt(r['iqr_s'] * 1e3),
                fmt(r.get('peak_mem_mib')),
                fmt(r['forward_mflops_per_image']),
                fmt(r['achieved_gflops_per_s']), *cells
            ]) + ' |')
    return lines


def speedup_table(report: Dict[str, Any]) -> List[str]:
    """Per-round ratio setting / reference of every case."""
    speed = report.get('speedup')
    if not speed:
        return []
    res = report['results']
    lines = [
        '| setting | step | ms | reference ms | ratio to reference: median |'
        ' q1-q3 | min-max |', '|---|---|---|---|---|---|---|'
    ]
    for name, cases in speed.items():
        for case in CASES:
            if case not in cases:
                continue
            s = cases[case]
            lines.append(
                f"| {name} | {case} | {fmt(res[name][case]['median_s'] * 1e3)}"
                f" | {fmt(res['reference'][case]['median_s'] * 1e3)} | "
                f"{fmt(s['median'])} | {fmt(s['q1'])}-{fmt(s['q3'])} | "
                f'{_range(s)} |')
    return lines


def same_results_table(report: Dict[str, Any]) -> List[str]:
    """Losses and gradients of the first steps per setting."""
    same = report.get('same_results')
    if not same:
        return []
    lines = [
        '| first step | setting | loss | loss diff | gradient diff (rel. '
        'norm) | gradient error vs float64 (rel. norm) |',
        '|---|---|---|---|---|---|'
    ]
    for case, r in same.items():
        for name, row in r['settings'].items():
            err = row['grad_error_vs_float64']
            lines.append(f"| {case} | {name} | {row['loss']:.6f} | "
                         f"{row['loss_diff']:.2g} | {row['grad_diff']:.2g} | "
                         f"{'-' if err is None else f'{err:.2g}'} |")
    first = next(iter(same.values()))
    lines.append('')
    lines.append(f"Diffs against the {first['compared_with']} setting; "
                 'float64: the reference kernels on a float64 copy (losses '
                 + ', '.join(
                     f"{c} {r['float64_loss']:.6f}" for c, r in same.items()
                     if r['float64_loss'] is not None) + ').')
    return lines


def path_lines(report: Dict[str, Any]) -> List[str]:
    """The path-sampling weight step against the subnet and the faithful
    weight step, per setting."""
    lines = []
    for name, spread in report['round_ratios'].items():
        parts = []
        for key, label in (('weight_path_vs_subnet', 'subnet'),
                           ('weight_path_vs_weight', 'faithful weight'),
                           ('weight_vs_subnet', None)):
            if key in spread and label:
                r = spread[key]
                parts.append(f'{fmt(r["median"])} x the {label} step '
                             f'(rounds {_range(r)})')
        if parts:
            lines.append(f'- {name}: path-sampling weight step = ' +
                         ', '.join(parts))
    return lines


def projection_lines(report: Dict[str, Any]) -> List[str]:
    """The paper-search projection at this run's rates."""
    proj = report.get('projection')
    if not proj:
        return []
    unit = 'GPU' if report['device'] == 'cuda' else 'CPU-core'
    lines = [
        f"Paper search ({proj['weight_steps']} weight + {proj['arch_steps']}"
        f" arch steps at batch {proj['paper_batch']}) at this run's per-image"
        f' rates, {unit}-hours (a projection, not a measured search; the '
        f"paper: {proj['paper_gpu_hours'][0]}-{proj['paper_gpu_hours'][1]} "
        'GPU-hours):'
    ]
    for name, row in proj['hours'].items():
        lines.append(f'- {name}: ' + ', '.join(
            f'{"faithful" if k == "weight" else "path-sampling"} '
            f'{v:,.0f} h' for k, v in row.items()))
    return lines


def format_report(report: Dict[str, Any]) -> str:
    """Everything a search-step run measured, as markdown."""
    out = [header(report), '']
    out += settings_table(report)
    for block in (speedup_table(report), same_results_table(report),
                  path_lines(report), projection_lines(report)):
        if block:
            out += [''] + block
    mem = next(iter(next(iter(report['results'].values())).values()),
               {}).get('mem_method')
    if mem:
        out += ['', f'Peak memory: {mem}.']
    return '\n'.join(out)
