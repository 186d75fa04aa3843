"""Does a rerun agree? Two searched-vs-random results of one setting.

Issue 21's check of the comparison protocol (:mod:`.search_vs_random`): a
rerun with other seeds than the documented ones (other search seeds, other
retrain seeds, another pool seed) must give a result whose difference from
the documented one lies within the CI of the difference of the two. For
each arm both ``results.json`` hold (``searched``, ``rsws``, ``hand`` and
the extra searched arms), this module takes the arm's nets and their
latency-matched random nets from each run exactly as the run's own pooled
comparison does (:func:`.arm_stats.compare_arm`: search seeds with a
finished net and finished random nets), and reports each run's difference
of means (arm minus random), the change between the runs and its
hierarchical bootstrap 95 % CI (:func:`.stats.diff_change_bootstrap`). The
rerun agrees for an arm when that CI holds 0. Where they agree, the two
runs are two samples of one comparison: ``pooled`` is the arm's
difference over both (:func:`.stats.diff_bootstrap` of the two runs' nets
together, each run's nets with that run's seeds; a random net both runs
drew counts once in each, as a net two search seeds share counts once per
seed in one run).

The two runs must share the setting (configs, table, schedule, windows,
numbers of nets and seeds); what a rerun changes is reported.
"""
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence, Tuple

from densenas_mm.apis.cli import ToolOutput
from densenas_mm.utils.io import dump_json_atomic
from densenas_mm.utils.options import ConfigError
from densenas_mm.utils.safe_read import read_json_file

from . import stats
from .search_vs_random import ARMS

#: Settings two runs of one protocol share (``results.json: settings``).
SETTING_KEYS = ('config', 'subnet_config', 'lut', 'seeds', 'n_random',
                'tolerance', 'max_tolerance', 'arch', 'search_epochs',
                'warmup_epochs', 'search_options', 'retrain_epochs',
                'subnet_options', 'latency_key', 'rsws', 'rsws_candidates',
                'rsws_weight_paths', 'recal_batches', 'hand', 'hand_head_op',
                'hand_stack_op', 'allow_noisy_lut')
#: Settings a rerun with other seeds may change.
SEED_KEYS = ('search_seeds', 'seed_list', 'pool', 'pool_seed',
             'pool_draws', 'rsws_seed')


def load_result(path: str) -> Dict[str, Any]:
    """A protocol's ``results.json`` (or its work dir), checked.

    Raises:
        ValueError: For a missing or damaged file, or one that is not a
            searched-vs-random result.
    """
    if osp.isdir(path):
        path = osp.join(path, 'results.json')
    fix = ('Give the results.json of tools/benchmark/search_vs_random.py '
           '(or its --work-dir).')
    result = read_json_file(path, 'the protocol result', fix)
    missing = [k for k in ('settings', 'slots', 'nets')
               if not isinstance(result, dict) or k not in result]
    if missing:
        raise ValueError(f'{path} is not a searched-vs-random result: no '
                         f'{missing}. {fix}')
    return result


def _scores(net: Dict[str, Any]) -> List[float]:
    return [float(v) for v in net.get('top1_seeds') or []]


def arm_groups(result: Dict[str, Any],
               arm: str) -> Tuple[List[List[float]], List[List[float]]]:
    """An arm's nets and its random nets as :mod:`.stats` groups (per net
    its retrain seeds' top-1), as the run's pooled comparison takes them.

    Args:
        result (dict): A ``results.json``.
        arm (str): ``searched``, ``rsws``, ``hand`` or an extra arm's name.

    Raises:
        ConfigError: For an arm the result does not have.
    """
    nets = {n['name']: n for n in result['nets']}
    if arm in ARMS:
        pairs = [(s.get(arm), s.get('random') or []) for s in result['slots']]
    elif arm in (result.get('extra_arms') or {}):
        pairs = [(s.get('net'), s.get('random') or [])
                 for s in result['extra_arms'][arm]['slots']]
    else:
        raise ConfigError(f'no arm {arm!r} in this result; it has '
                          f'{arms_of(result)}')
    arm_nets, randoms = [], []
    for name, random_names in pairs:
        own = _scores(nets[name]) if name in nets else []
        rand = [_scores(nets[r]) for r in random_names if r in nets]
        rand = [r for r in rand if r]
        if own and rand:
            arm_nets.append(own)
            randoms += rand
    return arm_nets, randoms


def arms_of(result: Dict[str, Any]) -> List[str]:
    """The arms a result compares with random nets (core, then extra)."""
    return list(ARMS) + sorted(result.get('extra_arms') or {})


def setting_differences(first: Dict[str, Any], second: Dict[str, Any],
                        keys: Sequence[str]) -> Dict[str, List[Any]]:
    """``key -> [first value, second value]`` where the settings differ."""
    a, b = first['settings'], second['settings']
    return {k: [a.get(k), b.get(k)] for k in keys if a.get(k) != b.get(k)}


def rerun_agreement(first: str,
                    second: str,
                    arms: Optional[Sequence[str]] = None,
                    bootstrap_reps: int = 2000,
                    seed: int = 0,
                    level: float = 0.95,
                    json: Optional[str] = None) -> ToolOutput:
    """Compare two runs of the protocol arm by arm (module doc).

    Args:
        first (str): The documented run's ``results.json`` (or work dir).
        second (str): The rerun's.
        arms (Sequence[str], optional): Arms to compare (default: every arm
            both runs have with finished nets on both sides).
        bootstrap_reps (int): Bootstrap replicates.
        seed (int): Seed of the bootstrap.
        level (float): Confidence level.
        json (str, optional): Write the report here (atomic).

    Returns:
        ToolOutput: Exit status 0 when every compared arm's CI holds 0, 1
        otherwise; ``result`` the report.

    Raises:
        ConfigError: When the runs' settings differ, an asked arm is
            missing, or no arm has finished nets in both runs.
    """
    runs = [load_result(first), load_result(second)]
    differ = setting_differences(*runs, SETTING_KEYS)
    if differ:
        raise ConfigError(
            'the two results are not runs of one setting: '
            + '; '.join(f'{k}: {a!r} vs {b!r}' for k, (a, b) in differ.items())
            + '. Rerun with the documented command and other seeds only.')
    both = [a for a in arms_of(runs[0]) if a in arms_of(runs[1])]
    asked = list(arms) if arms else both
    missing = [a for a in asked if a not in both]
    if missing:
        raise ConfigError(f'arm(s) {missing} not in both results; both '
                          f'have {both}')
    specs = [{a: r.get('extra_arms', {}).get(a, {}).get('spec') for a in asked}
             for r in runs]
    other = [a for a in asked if specs[0][a] != specs[1][a]]
    if other:
        raise ConfigError(
            'extra arm(s) of the same name searched with other settings: '
            + '; '.join(f'{a}: {specs[0][a]!r} vs {specs[1][a]!r}'
                        for a in other)
            + '. Rerun with the documented --extra-arm, or compare other '
            'arms (--arms)')
    rows = {}
    for i, arm in enumerate(asked):
        groups = [arm_groups(r, arm) for r in runs]
        if not all(a and b for a, b in groups):
            if arms:
                raise ConfigError(f'arm {arm!r} has no finished net with '
                                  'finished random nets in one of the runs')
            continue
        boot = stats.diff_change_bootstrap(groups[0], groups[1],
                                           bootstrap_reps, level,
                                           seed=seed + i)
        lo, hi = boot['ci']
        pooled = stats.diff_bootstrap(groups[0][0] + groups[1][0],
                                      groups[0][1] + groups[1][1],
                                      bootstrap_reps, level, seed=seed + i)
        rows[arm] = dict(boot, ci=[lo, hi], agrees=bool(lo <= 0 <= hi),
                         nets=[len(g[0]) for g in groups],
                         random_nets=[len(g[1]) for g in groups],
                         pooled=dict(diff=pooled['diff'],
                                     ci=list(pooled['ci'])))
    if not rows:
        raise ConfigError('no arm has finished nets and finished random nets '
                          'in both results')
    seeds = setting_differences(*runs, SEED_KEYS)
    used = [r.get('retrain_seeds') for r in runs]
    if used[0] != used[1]:
        seeds['retrain_seeds'] = used
    report = dict(first=first, second=second, arms=rows, seeds_changed=seeds,
                  agrees=all(r['agrees'] for r in rows.values()))
    text = format_agreement(report)
    if json:
        dump_json_atomic(report, json, indent=2)
        text += f'\nwrote {json}'
    return ToolOutput(status=0 if report['agrees'] else 1, out=text,
                      result=report)


def format_agreement(report: Dict[str, Any]) -> str:
    """The report as a Markdown table and a verdict."""
    changed = report['seeds_changed']
    lines = [f'first: {report["first"]}', f'second: {report["second"]}',
             'changed: ' + ('; '.join(f'{k} {a} -> {b}'
                                      for k, (a, b) in changed.items())
                            if changed else
                            'nothing (same seeds: a repeat, not a rerun '
                            'with other seeds)'), '',
             '| arm | nets (1st / 2nd) | random nets | 1st: arm - random | '
             '2nd: arm - random | change | 95 % CI | agrees | '
             'both runs: arm - random [95 % CI] |',
             '|---|---|---|---|---|---|---|---|---|']
    for arm, r in report['arms'].items():
        lo, hi = r['ci']
        lines.append(
            f'| {arm} | {r["nets"][0]} / {r["nets"][1]} | '
            f'{r["random_nets"][0]} / {r["random_nets"][1]} | '
            f'{r["first"]:+.2f} | {r["second"]:+.2f} | {r["change"]:+.2f} '
            f'| {lo:+.2f} to {hi:+.2f} | {"yes" if r["agrees"] else "no"} '
            f'| {_pooled(r)} |')
    verdict = ('the rerun agrees: every change lies within its CI'
               if report['agrees'] else
               'the rerun disagrees: a change excludes 0 from its CI')
    return '\n'.join(lines + ['', verdict])


def _pooled(row: Dict[str, Any]) -> str:
    lo, hi = row['pooled']['ci']
    return f'{row["pooled"]["diff"]:+.2f} [{lo:+.2f}, {hi:+.2f}]'


__all__ = [
    'SEED_KEYS', 'SETTING_KEYS', 'arm_groups', 'arms_of', 'format_agreement',
    'load_result', 'rerun_agreement', 'setting_differences'
]
