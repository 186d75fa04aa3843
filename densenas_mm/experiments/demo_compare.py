"""Do two demo runs agree? Everything but the timings.

A refactoring must not change what a search computes. Two runs of
``tools/demo.sh`` with the same seeds and the same latency table
(``DEMO_LUT=<one table>``, so the table is not re-measured) must log the
same losses at every weight step, the same per-epoch search values
(entropies, expected cost, derived path), write the same derived
architecture and report the same nets with the same top-1. Timings (step
times, measured latencies, ETA) differ from run to run and are left out.
"""
import glob
import json
import os.path as osp
from typing import Any, Dict, List, Tuple

#: Keys of a logged row that are timings (left out of the comparison).
TIMING_KEYS = ('time', 'data_time', 'eta')
#: Fields of a summary row that are measured (left out).
MEASURED_FIELDS = ('measured_latency_ms', 'latency_rel_error')


def _one(pattern: str) -> str:
    found = sorted(glob.glob(pattern))
    if not found:
        raise FileNotFoundError(f'no file matches {pattern}: is it a '
                                'finished demo work dir (tools/demo.sh)?')
    return found[-1]


def _rows(path: str) -> List[Dict[str, Any]]:
    with open(path, encoding='utf-8') as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return [{
        k: v
        for k, v in row.items() if not any(t in k for t in TIMING_KEYS)
    } for row in rows]


def demo_record(work_dir: str) -> Dict[str, Any]:
    """What a demo run computed, timings left out.

    Args:
        work_dir (str): A finished ``tools/demo.sh`` work dir.

    Returns:
        dict: ``weight_steps`` (mmengine's logged rows of the search),
        ``search_epochs`` (the search's per-epoch rows), ``best_arch`` (the
        text of ``search/arch/best.yaml``) and ``nets`` (the summary's
        rows without measured latencies).
    """
    vis = osp.join(work_dir, 'search', '*', 'vis_data')
    with open(osp.join(work_dir, 'search', 'arch', 'best.yaml'),
              encoding='utf-8') as f:
        best = f.read()
    with open(osp.join(work_dir, 'summary.json'), encoding='utf-8') as f:
        nets = json.load(f)['nets']
    return dict(
        weight_steps=_rows(_one(osp.join(vis, 'scalars.json'))),
        search_epochs=_rows(_one(osp.join(vis, 'search_scalars.json'))),
        best_arch=best,
        nets=[{k: v
               for k, v in net.items() if k not in MEASURED_FIELDS}
              for net in nets])


def compare_demo_runs(before: str, after: str) -> Tuple[bool, List[str]]:
    """Compare two demo work dirs part by part.

    Args:
        before (str): One demo work dir.
        after (str): The other.

    Returns:
        tuple: ``(identical, lines)``: whether every part is the same, and
        one line per part (with the first difference where one differs).
    """
    a, b = demo_record(before), demo_record(after)
    lines, same = [], True
    for part in ('weight_steps', 'search_epochs', 'best_arch', 'nets'):
        x, y = a[part], b[part]
        if x == y:
            size = f'{len(x)} rows' if isinstance(x, list) else 'text'
            lines.append(f'{part}: identical ({size})')
            continue
        same = False
        if isinstance(x, list):
            first = next((i for i, (p, q) in enumerate(zip(x, y)) if p != q),
                         min(len(x), len(y)))
            lines.append(f'{part}: differ ({len(x)} vs {len(y)} rows; first '
                         f'at row {first})')
        else:
            lines.append(f'{part}: differ')
    return same, lines
