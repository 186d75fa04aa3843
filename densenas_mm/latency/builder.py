"""Build a latency table for a search space on the current device.

Every distinct signature the space needs is measured at its real input
shape (see :mod:`.measure`) in interleaved rounds: the signatures are taken
in chunks of ``checkpoint_every``; each chunk is timed in ``rounds`` rounds
(round 1 of every op of the chunk, then round 2, ...), each round being
``warmup`` untimed calls and ``min_repeats``..``max_repeats`` timed calls
(at most ``max_seconds`` of them; calls the OS interrupted are left out).
An entry's value is a robust statistic of its rounds (``statistic``,
default the smallest timed call of all rounds, the choice measured in
``docs/latency.md``). An entry whose rounds disagree (for a minimum: its two
lowest rounds more than ``tolerance`` apart; for a median: the rounds'
robust relative standard error above ``tolerance``) gets up to
``extra_rounds`` more rounds, interleaved with the other disagreeing entries
of its chunk; one that still disagrees is marked ``noisy``, and a table with
more than ``max_noisy`` noisy entries is marked noisy
(``metadata['quality']``), which the estimator refuses unless allowed.

The build is resumable: after every chunk, and when interrupted (Ctrl-C, an
error), the table so far is written atomically to ``OUT.partial``; a new
build with the same setting loads it (and an existing ``OUT``), measures
what is missing and adds rounds to the entries marked noisy. The final table
is written atomically to ``OUT``.
"""
import os
import time
import warnings
from dataclasses import dataclass, field
from typing import (Any, Callable, Dict, List, Mapping, Optional, Sequence,
                    Tuple)

import torch
from mmengine.logging import print_log
from mmengine.utils import ProgressBar

from densenas_mm.search_space import SearchSpace, SpaceGraph
from densenas_mm.utils.rounds import (DEFAULT_STATISTIC, ROUND_STATISTICS,
                                      RoundStats, measure_until_agreed)
from densenas_mm.utils.timing import (KEEP_MEMORY, TimingResult,
                                      keep_freed_memory, preemption_counter)
from .measure import (check_device, environment, resolve_clock, time_modules,
                      timestamp)
from .modules import build_module, make_input, prepare
from .needs import space_ops
from .quality import assess_entries
from .signature import OpSignature
from .schema import LatencyTableError
from .table import LatencyTable, LatencyTableWarning

# Metadata that must agree for measured entries to be reused.
IDENTITY_KEYS = ('device', 'device_type', 'torch', 'cuda', 'cudnn',
                 'num_threads', 'batch_size', 'dtype', 'memory_format', 'unit',
                 'allocator', 'clock', 'drop_preempted', 'statistic', 'warmup',
                 'min_repeats', 'max_repeats', 'max_seconds')

# (sigs, device, act, rounds, **timing) -> {key: [TimingResult (ms) of
# round 1, ...]}
MeasureFn = Callable[..., Mapping[str, Sequence[TimingResult]]]


@dataclass
class BuildReport:
    """What a build did.

    Attributes:
        path (str, optional): Where the table was written.
        needed (int): Distinct entries the space needs.
        measured (int): Entries measured by this run for the first time.
        remeasured (int): Entries of an earlier build marked noisy that this
            run added rounds to.
        reused (int): Needed entries taken from an earlier (partial) table.
        extra_rounds (int): Rounds added to entries whose rounds disagreed.
        seconds (float): Wall time of the build.
        noisy (list[tuple]): ``(key, latency_ms, rel_err, rounds)`` of the
            needed entries marked noisy.
        quality (dict): The table's verdict (``metadata['quality']``).
    """
    path: Optional[str]
    needed: int
    measured: int = 0
    remeasured: int = 0
    reused: int = 0
    extra_rounds: int = 0
    seconds: float = 0.0
    noisy: List[Tuple[str, float, Optional[float],
                      List[float]]] = field(default_factory=list)
    quality: Dict[str, Any] = field(default_factory=dict)


def measure_signatures(sigs: Sequence[OpSignature], device: str, act: str,
                       rounds: int,
                       **timing: Any) -> Dict[str, List[TimingResult]]:
    """Build the modules of ``sigs`` and time them in interleaved rounds.

    Args:
        sigs (Sequence[OpSignature]): What to measure.
        device (str): Where.
        act (str): Activation of the space.
        rounds (int): Rounds.
        **timing: ``warmup``, ``min_repeats``, ``max_repeats``,
            ``max_seconds``, ``clock`` of each round.

    Returns:
        dict: Key -> one :class:`~densenas_mm.utils.timing.TimingResult`
        (ms) per round.
    """
    items = {
        sig.key: (prepare(build_module(sig, act), sig,
                          device), make_input(sig, device))
        for sig in sigs
    }
    return time_modules(items, rounds, **timing)


def _differences(old: LatencyTable, new: LatencyTable) -> List[str]:
    out = [] if old.version == new.version else [
        f'schema version: {old.version} -> {new.version}'
    ]
    return out + [
        f'{k}: {old.metadata.get(k)!r} -> {new.metadata.get(k)!r}'
        for k in IDENTITY_KEYS if old.metadata.get(k) != new.metadata.get(k)
    ]


def _seed_table(table: LatencyTable, path: str, strict: bool) -> None:
    """Copy entries of the table at ``path`` into ``table`` if compatible.

    Raises:
        LatencyTableError: If the file is not a valid table; the message
            says how to get past it (rerunning would repeat the error).
    """
    if not os.path.isfile(path):
        return
    try:
        old = LatencyTable.load(path)
    except LatencyTableError as err:
        what = ('the partial table of an interrupted build' if
                path.endswith('.partial') else 'the output table')
        raise LatencyTableError(
            f'cannot resume from {path} ({what}): {err}. Delete {path}, or '
            'pass --no-resume (resume=False) to measure every entry again '
            'and overwrite it') from None
    differ = _differences(old, table)
    if differ:
        detail = ', '.join(differ)
        if strict:
            raise ValueError(
                f'{path} exists but was measured with another setting '
                f'({detail}); pass another --out or delete it')
        warnings.warn(
            f'ignoring {path}: measured with another setting '
            f'({detail})', LatencyTableWarning)
        return
    for key in ('created', 'spaces', 'input_sizes'):
        if key in old.metadata:
            table.metadata[key] = old.metadata[key]
    table.entries.update(old.entries)


def build_latency_table(space: Any,
                        device: str = 'cpu',
                        batch_size: int = 32,
                        out: Optional[str] = None,
                        rounds: int = 5,
                        warmup: int = 2,
                        min_repeats: int = 5,
                        max_repeats: int = 20,
                        max_seconds: Optional[float] = 0.05,
                        clock: str = 'auto',
                        statistic: str = DEFAULT_STATISTIC,
                        tolerance: float = 0.05,
                        extra_rounds: int = 6,
                        max_noisy: float = 0.1,
                        keep_memory: bool = True,
                        drop_preempted: bool = True,
                        dtype: str = 'float32',
                        channels_last: bool = False,
                        checkpoint_every: int = 10,
                        resume: bool = True,
                        progress: bool = True,
                        measure: Optional[MeasureFn] = None
                        ) -> Tuple[LatencyTable, BuildReport]:
    """Measure every op a search space needs (see the module docstring).

    Args:
        space (dict | SearchSpace): The space.
        device (str): ``'cpu'`` or ``'cuda[:N]'``.
        batch_size (int): Batch size of every measurement.
        out (str, optional): Output JSON path (``OUT.partial`` is the cache).
            None keeps the table in memory only (no resume).
        rounds (int): Interleaved rounds per entry (>= 2 to judge agreement).
        warmup (int): Untimed calls per entry and round.
        min_repeats (int): Timed calls per entry and round at least.
        max_repeats (int): Timed calls per entry and round at most.
        max_seconds (float, optional): Cap on the timed calls of one entry in
            one round (seconds; the count still reaches ``min_repeats``).
        clock (str): ``'auto'`` (thread CPU time on a CPU with one torch
            thread, else wall), ``'thread'`` or ``'wall'``.
        statistic (str): One of
            :data:`~densenas_mm.utils.timing.ROUND_STATISTICS`.
        tolerance (float): Rounds agree when their relative uncertainty
            (:attr:`~densenas_mm.utils.rounds.RoundStats.rel_err`) is at
            most this.
        extra_rounds (int): Most rounds added to an entry that disagrees.
        max_noisy (float): Largest fraction of noisy entries of a table not
            marked noisy.
        keep_memory (bool): Keep freed memory in the process
            (:func:`~densenas_mm.utils.timing.keep_freed_memory`), so timed
            calls do not page-fault; recorded as ``metadata['allocator']``.
        drop_preempted (bool): Leave out timed calls the OS interrupted
            (see :func:`~densenas_mm.utils.timing.time_samples`); recorded
            as ``metadata['drop_preempted']`` (False where the OS does not
            report preemption).
        dtype (str): ``float32``, ``float16``, ``bfloat16`` or ``float64``.
        channels_last (bool): Measure in channels-last memory format.
        checkpoint_every (int): Signatures per chunk of interleaved rounds;
            the partial table is written after every chunk.
        resume (bool): Reuse compatible entries of ``OUT`` / ``OUT.partial``.
        progress (bool): Show an mmengine progress bar.
        measure (callable, optional): ``(sigs, device, act, rounds,
            **timing) -> {key: [TimingResult in ms per round]}``; defaults to
            :func:`measure_signatures`.

    Returns:
        tuple[LatencyTable, BuildReport]: The table and what was done.

    Raises:
        ValueError: For a bad statistic, clock, rounds or tolerance.
    """
    start = time.perf_counter()
    space = SearchSpace.from_config(space)
    device = check_device(device)
    clock = resolve_clock(clock, device)
    if statistic not in ROUND_STATISTICS:
        raise ValueError(f'statistic must be one of {ROUND_STATISTICS}, got '
                         f'{statistic!r}')
    if rounds < 1 or extra_rounds < 0 or tolerance <= 0:
        raise ValueError('need rounds >= 1, extra_rounds >= 0 and tolerance '
                         f'> 0, got {rounds}, {extra_rounds}, {tolerance}')
    measure = measure or measure_signatures
    allocator = 'default'
    if keep_memory and keep_freed_memory():
        allocator = KEEP_MEMORY
    fmt = 'channels_last' if channels_last else 'contiguous'
    needs = space_ops(space, SpaceGraph(space), batch_size, dtype,
                      fmt).unique()
    timing = dict(
        warmup=warmup,
        min_repeats=min_repeats,
        max_repeats=max_repeats,
        max_seconds=max_seconds,
        clock=clock,
        drop_preempted=bool(drop_preempted and preemption_counter()))
    meta = dict(
        environment(device),
        batch_size=batch_size,
        dtype=dtype,
        memory_format=fmt,
        unit='ms',
        created=timestamp(),
        spaces=[],
        input_sizes=[],
        allocator=allocator,
        statistic=statistic,
        rounds=rounds,
        extra_rounds=extra_rounds,
        **timing)
    table = LatencyTable(meta, complete=False, source=out or '<memory>')
    partial = f'{out}.partial' if out else None
    if out and resume:
        _seed_table(table, out, strict=True)
        _seed_table(table, partial, strict=False)
    if space.name not in table.metadata['spaces']:
        table.metadata['spaces'] = table.metadata['spaces'] + [space.name]
    if space.input_size not in table.metadata['input_sizes']:
        table.metadata['input_sizes'] = sorted(table.metadata['input_sizes'] +
                                               [space.input_size])
    prior: Dict[str, RoundStats] = {}
    for sig in needs:
        old = table.round_stats(sig.key) if sig.key in table.entries else None
        if old is not None and not old.agrees(tolerance):
            prior[sig.key] = old
    todo = [s for s in needs if s.key not in table.entries or s.key in prior]
    report = BuildReport(
        out, len(needs), reused=len(needs) - len(todo), remeasured=len(prior))
    print_log(
        f'latency table for {space.name!r} on {table.device} ({clock} '
        f'clock, {rounds} interleaved rounds per op): {len(needs)} distinct '
        f'ops needed, {report.reused} reused, {len(todo) - len(prior)} to '
        f'measure, {len(prior)} noisy ones to re-measure',
        logger='current')
    bar = ProgressBar(len(todo)) if progress and todo else None
    torch.manual_seed(0)
    step = max(checkpoint_every, 1)
    done = 0
    try:
        for first in range(0, len(todo), step):
            chunk = {s.key: s for s in todo[first:first + step]}
            result = measure_until_agreed(
                lambda keys, n: measure([chunk[k] for k in keys], device, space
                                        .act, n, **timing),
                list(chunk),
                rounds,
                tolerance,
                extra_rounds,
                statistic,
                prior=prior)
            for key, stats in result.stats.items():
                table.add_rounds(chunk[key], stats, tolerance)
            report.extra_rounds += sum(result.extra_rounds.values())
            done += len(chunk)
            if partial and done < len(todo):
                table.metadata['updated'] = timestamp()
                table.save(partial)
            if bar is not None:
                bar.update(len(chunk))
    except BaseException:
        if partial and done:
            table.metadata['updated'] = timestamp()
            table.save(partial)
            print_log(
                f'build interrupted; {len(table)} entries kept in '
                f'{partial}, rerun the same command to resume',
                logger='current',
                level=30)
        raise
    report.measured = len(todo) - len(prior)
    table.complete = True
    table.metadata['updated'] = timestamp()
    table.metadata['quality'] = report.quality = assess_entries(
        table.entries, tolerance, max_noisy, statistic)
    if out:
        table.save(out)
        if os.path.exists(partial):
            os.unlink(partial)
    report.seconds = time.perf_counter() - start
    for sig in needs:
        e = table.entries[sig.key]
        if e.get('noisy'):
            report.noisy.append(
                (sig.key, e['latency'], e.get('rel_err'), e['rounds']))
    return table, report
