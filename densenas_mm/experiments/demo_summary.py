"""Summary table of the demo (tools/demo.sh): the searched net against
random nets of the same space at the closest LUT latencies.

Reads what the demo steps wrote under the work dir:

- ``arch.yaml`` (the searched net) and ``random_<k>.yaml`` (the baselines),
  for path, net_config and LUT latency;
- ``<name>_test/metrics.json``: top-1 / top-5 of ``tools/test.py --out``;
- ``<name>_audit.json``: LUT-predicted vs measured latency rows of
  ``tools/analysis/latency_audit.py --json`` (the ``whole net`` row);
- ``<name>_flops.json``: params and MACs of ``tools/analysis/get_flops.py``;
- ``search/vis/history.json``: the search's epoch records (entropies,
  paths, expected and derived latency, supernet validation accuracy);
- ``search/budget.json``: a search for a latency budget
  (``LatencyLoss(target=T)``): its derived net predicted and measured
  (:mod:`densenas_mm.apis.latency_budget`);
- ``budgets/front.json``: the nets of ``tools/analysis/derive_budgets.py``
  for budgets across the search's front (not retrained);
- ``dataset.txt``: which data the demo used; ``lut_noise.txt``: present
  when the latency table stayed noisy and was used anyway; ``timing.json``:
  seconds per step.
"""
import glob
import json
import os.path as osp
import re
from typing import Dict, List, Optional

from densenas_mm.apis.latency_budget import BUDGET_FILE, budget_line
from densenas_mm.structures import DerivedArch
from densenas_mm.utils.io import dump_json_atomic, write_text_atomic
from .search_quality_report import rank_summary


def _load_json(path: str):
    if not osp.exists(path):
        return None
    with open(path, encoding='utf-8') as f:
        return json.load(f)


def net_names(work_dir: str) -> List[str]:
    """``arch`` and the ``random_<k>`` nets present, in order."""
    randoms = sorted(
        (osp.basename(p)[:-5] for p in glob.glob(
            osp.join(work_dir, 'random_*.yaml'))),
        key=lambda n: int(re.sub(r'\D', '', n) or 0))
    return ['arch'] + randoms


def net_row(label: str, arch: Optional[DerivedArch],
            metrics: Optional[Dict], audit: Optional[List[Dict]],
            flops: Optional[Dict]) -> Dict:
    """One row of the table from the architecture and the JSON contents of
    one net."""
    row: Dict = dict(net=label)
    if arch is not None:
        row['path'] = list(arch.path)
        row['net_config'] = arch.to_net_config()
        row['lut_latency_ms'] = arch.meta.get('latency')
    if audit:
        whole = [r for r in audit if r.get('part') == 'whole net']
        if whole:
            row['lut_latency_ms'] = whole[0]['predicted_ms']
            row['measured_latency_ms'] = whole[0]['measured_ms']
            row['latency_rel_error'] = whole[0].get('rel_error')
    if flops:
        row['macs_M'] = flops['macs'] / 1e6
        row['params_M'] = flops['params'] / 1e6
    if metrics:
        row['top1'] = metrics.get('accuracy/top1')
        row['top5'] = metrics.get('accuracy/top5')
    return row


def search_facts(history: List[Dict]) -> Dict:
    """What the search did, from its epoch records."""
    vals = [r for r in history if r.get('val_top1') is not None]
    search_rows = [r for r in history if r.get('phase') == 'search']
    first = search_rows[0] if search_rows else history[0]
    last = history[-1]
    return dict(
        epochs=len(history),
        warmup_epochs=sum(r.get('phase') == 'warmup' for r in history),
        supernet_val_top1_last=vals[-1]['val_top1'] if vals else None,
        paths=[r.get('path') for r in history],
        alpha_entropy=[first.get('alpha_entropy'),
                       last.get('alpha_entropy')],
        beta_entropy=[first.get('beta_entropy'), last.get('beta_entropy')],
        expected_latency=[first.get('expected_latency'),
                          last.get('expected_latency')],
        expected_latency_last=last.get('expected_latency'))


def collect(work_dir: str) -> Dict:
    """Everything the summary shows, as a dict (also ``summary.json``).

    Raises:
        ArchError: For an architecture file that does not load.
    """
    nets = []
    for name in net_names(work_dir):
        arch_file = osp.join(work_dir, f'{name}.yaml')
        arch = (DerivedArch.load(arch_file) if osp.exists(arch_file) else
                None)
        label = 'searched' if name == 'arch' else name.replace(
            'random_', 'random ')
        nets.append(
            net_row(label, arch,
                    _load_json(osp.join(work_dir, f'{name}_test',
                                        'metrics.json')),
                    _load_json(osp.join(work_dir, f'{name}_audit.json')),
                    _load_json(osp.join(work_dir, f'{name}_flops.json'))))
    summary: Dict = dict(nets=nets)
    searched = [r['top1'] for r in nets[:1] if r.get('top1') is not None]
    randoms = [r['top1'] for r in nets[1:] if r.get('top1') is not None]
    if searched and randoms:
        summary['comparison'] = rank_summary(searched, randoms)
    for key, name in (('dataset', 'dataset.txt'),
                      ('lut_note', 'lut_noise.txt')):
        path = osp.join(work_dir, name)
        if osp.exists(path):
            with open(path, encoding='utf-8') as f:
                summary[key] = f.read().strip()
    history = _load_json(osp.join(work_dir, 'search', 'vis',
                                  'history.json'))
    if history:
        summary['search'] = search_facts(history)
    budget = _load_json(osp.join(work_dir, 'search', BUDGET_FILE))
    if budget:
        summary['budget'] = budget
    budgets = _load_json(osp.join(work_dir, 'budgets', 'front.json'))
    if budgets:
        summary['budgets'] = {
            key: budgets[key]
            for key in ('metric', 'unit', 'budgets', 'joint_optimum',
                        'viterbi_argmax')
        }
        summary['budgets']['front_size'] = len(budgets['front'])
    timing = _load_json(osp.join(work_dir, 'timing.json'))
    if timing:
        summary['timing_s'] = timing
    return summary


#: The summary's one line on what its comparison can tell (issue 21).
COMPARISON_NOTE = (
    'one retrain per net: this cannot tell whether the search beats random '
    '(retrain noise is of the size of these differences); the comparison '
    'with statistics: docs/search_quality.md, '
    'tools/benchmark/search_vs_random.py')


def _fmt(value, spec: str) -> str:
    return '-' if value is None else format(value, spec)


def _pair(values, spec: str) -> str:
    return ' -> '.join(_fmt(v, spec) for v in values)


def format_table(summary: Dict) -> str:
    """The summary as a plain-text table (fixed-width columns)."""
    head = (f'{"net":<12}{"path":<24}{"LUT ms":>9}{"meas. ms":>10}'
            f'{"MMACs":>8}{"params M":>10}{"top-1":>8}')
    lines = []
    if summary.get('dataset'):
        lines.append(f'data: {summary["dataset"]}')
    if summary.get('lut_note'):
        lines.append(f'note: {summary["lut_note"]}')
    lines += [head, '-' * len(head)]
    for r in summary['nets']:
        lines.append(
            f'{r["net"]:<12}{str(r.get("path") or "-"):<24}'
            f'{_fmt(r.get("lut_latency_ms"), ".2f"):>9}'
            f'{_fmt(r.get("measured_latency_ms"), ".2f"):>10}'
            f'{_fmt(r.get("macs_M"), ".2f"):>8}'
            f'{_fmt(r.get("params_M"), ".4f"):>10}'
            f'{_fmt(r.get("top1"), ".2f"):>8}')
    comp = summary.get('comparison')
    if comp:
        std = _fmt(comp['random_std'], '.2f')
        lines += [
            '',
            f'searched {comp["searched"][0]:.2f} vs random '
            f'{comp["random_mean"]:.2f} +- {std} (min '
            f'{comp["random_min"]:.2f}, max {comp["random_max"]:.2f}, '
            f'{len(comp["random"])} nets); rank of the searched net: '
            f'{comp["ranks"][0]} of {comp["of"]}',
            COMPARISON_NOTE
        ]
    lines.append('')
    for r in summary['nets']:
        if r.get('net_config'):
            lines.append(f'{r["net"]} net_config:\n  {r["net_config"]}')
    lines += budget_lines(summary.get('budgets'))
    search = summary.get('search')
    if search:
        changes = sum(a != b for a, b in zip(search['paths'],
                                             search['paths'][1:]))
        lines += [
            '',
            f'search: {search["epochs"]} epochs ({search["warmup_epochs"]} '
            'warm-up); supernet val top-1 at the end: '
            f'{_fmt(search.get("supernet_val_top1_last"), ".2f")}',
            'first search epoch -> last: alpha entropy '
            f'{_pair(search["alpha_entropy"], ".3f")}, beta entropy '
            f'{_pair(search["beta_entropy"], ".3f")} (nats), expected '
            f'latency {_pair(search["expected_latency"], ".2f")} ms',
            f'derived path changed {changes} times; final '
            f'{search["paths"][-1] if search["paths"] else "-"}'
        ]
    if summary.get('budget'):
        lines += ['', budget_line(summary['budget'])]
    timing = summary.get('timing_s')
    if timing:
        lines.append('')
        lines.append('time per step (s): ' + ', '.join(
            f'{k} {v:.0f}' for k, v in timing.items()))
    return '\n'.join(lines) + '\n'


def budget_lines(budgets: Optional[Dict]) -> List[str]:
    """The budget nets of the search (``budgets/front.json``) as lines."""
    if not budgets:
        return []
    unit = budgets['unit']
    lines = [
        '', f'one search, many budgets ({budgets["front_size"]} '
        f'Pareto-optimal nets; derived, not retrained):',
        f'{"budget " + unit:>14}{"predicted":>11}{"logp":>9}  path'
    ]
    for r in budgets['budgets']:
        lines.append(f'{r["budget"]:>14.3f}{r["cost"]:>11.3f}'
                     f'{r["logp"]:>9.3f}  {r["path"]}')
    today = budgets['viterbi_argmax']
    lines.append(f'today\'s derivation (Viterbi + argmax): '
                 f'{today["cost"]:.3f} {unit}, logp {today["logp"]:.3f}, '
                 f'path {today["path"]}')
    return lines


def write_summary(work_dir: str) -> str:
    """Write ``summary.txt`` and ``summary.json`` into ``work_dir``.

    Returns:
        str: The text table.
    """
    summary = collect(work_dir)
    text = format_table(summary)
    write_text_atomic(text, osp.join(work_dir, 'summary.txt'))
    dump_json_atomic(summary, osp.join(work_dir, 'summary.json'))
    return text
