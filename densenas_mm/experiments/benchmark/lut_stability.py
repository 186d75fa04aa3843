"""Build-to-build agreement of latency tables, per setting and statistic.

Builds the table of a space several times in one process, alternating the
settings (clock x chunk size: thread/10, wall/10, thread/10, ...), so that
every setting sees the same stretch of machine load; after each build it
optionally measures the whole-net latency of random nets
(:func:`densenas_mm.apis.latency_agreement.rank_agreement`). Every pair of
builds of one
setting is then compared (entry by entry and on the nets' path sums) under
every round statistic, evaluated from the same stored rounds, and so is the
rank agreement. This is the measurement behind the defaults of
``tools/build_latency_lut.py``.
"""
import itertools
import os
import statistics
import time
from typing import Any, Dict, List, Optional, Sequence

from densenas_mm.apis.latency_agreement import (compare_tables, kendall_for,
                                                path_sum, random_archs,
                                                rank_agreement)
from densenas_mm.latency import build_latency_table
from densenas_mm.search_space import search_space_from_cfg
from densenas_mm.utils.rounds import ROUND_STATISTICS
from .machine import machine_info


def run(space_config: str,
        search_config: str,
        builds: int = 3,
        clocks: Sequence[str] = ('thread', 'wall'),
        chunks: Sequence[int] = (10, ),
        nets: int = 12,
        seed: int = 0,
        rank: bool = True,
        tables_dir: Optional[str] = None,
        **build: Any) -> Dict[str, Any]:
    """Alternate ``builds`` builds per setting and compare them.

    Args:
        space_config (str): Config holding the ``search_space``.
        search_config (str): Search config of the same space (random nets).
        builds (int): Builds per setting (>= 2).
        clocks (Sequence[str]): Clocks to alternate.
        chunks (Sequence[int]): Chunk sizes (``checkpoint_every``: ops per
            chunk of interleaved rounds) to alternate.
        nets (int): Random nets for path sums and rank agreement.
        seed (int): Seed of the random nets.
        rank (bool): Measure the nets' whole-net latency after every build.
        tables_dir (str, optional): Also save every built table here.
        **build: Arguments of :func:`build_latency_table` (``rounds``,
            ``min_repeats``, ...).

    Returns:
        dict: ``machine``, ``settings``, ``builds`` (per build: setting,
        seconds, load, noisy entries, verdict, rank report) and ``summary``
        (per setting and statistic: the entry / path agreement of every
        pair and the Kendall's tau of every build).
    """
    if builds < 2:
        raise ValueError(f'need >= 2 builds per setting, got {builds}')
    space = search_space_from_cfg(space_config)
    archs = random_archs(search_config, nets, seed)
    settings = [f'{c}/{k}' for c, k in itertools.product(clocks, chunks)]
    tables: Dict[str, List[Any]] = {s: [] for s in settings}
    records: List[Dict[str, Any]] = []
    for i, setting in itertools.product(range(builds), settings):
        clock, chunk = setting.split('/')
        load = os.getloadavg()
        start = time.perf_counter()
        table, report = build_latency_table(
            space,
            progress=False,
            clock=clock,
            checkpoint_every=int(chunk),
            **build)
        if tables_dir:
            table.save(
                os.path.join(tables_dir,
                             f'build{i}_{clock}_chunk{chunk}.json'))
        record = dict(
            build=i,
            setting=setting,
            seconds=time.perf_counter() - start,
            load_before=list(load),
            load_after=list(os.getloadavg()),
            noisy=len(report.noisy),
            extra_rounds=report.extra_rounds,
            status=report.quality['status'])
        if rank:
            record['rank'] = rank_agreement(table, archs, clock=clock)
        tables[setting].append(table)
        records.append(record)
    summary: Dict[str, Any] = {}
    for setting in settings:
        ranks = [
            r['rank'] for r in records if r['setting'] == setting and rank
        ]
        for stat in ROUND_STATISTICS:
            pairs = [
                compare_tables(a, b, archs, stat)
                for a, b in itertools.combinations(tables[setting], 2)
            ]
            row = dict(
                entry_median=[p['entry']['median'] for p in pairs],
                entry_max=[p['entry']['max'] for p in pairs],
                path_median=[p['path']['median'] for p in pairs],
                path_max=[p['path']['max'] for p in pairs])
            if ranks:
                row['kendall_tau'] = [
                    kendall_for(t, archs, r, stat)
                    for t, r in zip(tables[setting], ranks)
                ]
            row['path_sums'] = [[path_sum(t, a, stat) for a in archs]
                                for t in tables[setting]]
            summary[f'{setting}/{stat}'] = row
    return dict(
        machine=machine_info(),
        settings=dict(
            space_config=space_config,
            search_config=search_config,
            builds=builds,
            clocks=list(clocks),
            chunks=list(chunks),
            nets=nets,
            seed=seed,
            **{
                k: v
                for k, v in build.items()
            }),
        builds=records,
        summary=summary)


def format_report(report: Dict[str, Any]) -> str:
    """One line per clock / statistic: medians over the pairs of builds."""
    lines = [
        f'{"clock/chunk/statistic":<31}{"entry med":>10}{"entry max":>10}'
        f'{"path med":>10}{"path max":>10}{"tau med":>9}{"tau min":>9}'
    ]
    for name, row in report['summary'].items():
        tau = row.get('kendall_tau')
        tau_txt = (f'{statistics.median(tau):>9.2f}{min(tau):>9.2f}'
                   if tau else f'{"-":>9}{"-":>9}')
        lines.append(f'{name:<31}'
                     f'{100 * statistics.median(row["entry_median"]):>9.1f}%'
                     f'{100 * max(row["entry_max"]):>9.0f}%'
                     f'{100 * statistics.median(row["path_median"]):>9.1f}%'
                     f'{100 * max(row["path_max"]):>9.1f}%{tau_txt}')
    lines.append('entry / path: max/min - 1 between two builds (median over '
                 'entries or nets; med / max over the pairs of builds); tau: '
                 "Kendall's tau of LUT sum vs measured whole net per build")
    return '\n'.join(lines)
