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

The options come grouped in three small settings objects
(:mod:`.build_settings`: :class:`TableSetting`, what the table is for;
:class:`RoundSettings`, how entries are timed and judged;
:class:`BuildOptions`, how the build runs), or as their fields in flat
keywords, as the tool and older callers pass them.

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
                    Tuple, Union)

import torch
from mmengine.logging import print_log
from mmengine.utils import ProgressBar

from densenas_mm.search_space import SearchSpace, SpaceGraph
from densenas_mm.utils.rounds import RoundStats, measure_until_agreed
from densenas_mm.utils.settings import group_settings
from densenas_mm.utils.timing import KEEP_MEMORY, keep_freed_memory
from densenas_mm.utils.timing_stats import TimingResult
from .build_settings import (FLAT_KEYS, SETTINGS, BuildOptions, RoundSettings,
                             TableSetting)
from .measure import (check_device, environment, resolve_clock, time_modules,
                      timestamp)
from .modules import build_module, make_input, prepare
from .needs import space_ops
from .ort_backend import check_backend, on_backend
from .quality import assess_entries
from .signature import OpSignature
from .schema import (BACKEND_KEY, CALLS_KEY, CUDA_FLAGS, GPU_NAME_KEY,
                     LatencyTableError, table_backend)
from .table import LatencyTable, LatencyTableWarning

# Metadata that must agree for measured entries to be reused.
IDENTITY_KEYS = ('device', 'device_type', 'torch', 'cuda', 'cudnn',
                 'num_threads', 'batch_size', 'dtype', 'memory_format', 'unit',
                 'allocator', 'clock', 'drop_preempted', 'statistic', 'warmup',
                 'min_repeats', 'max_repeats', 'max_seconds',
                 CALLS_KEY, BACKEND_KEY, GPU_NAME_KEY) + tuple(CUDA_FLAGS)

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


def measure_signatures(sigs: Sequence[OpSignature],
                       device: str,
                       act: str,
                       rounds: int,
                       backend: str = 'torch',
                       **timing: Any) -> Dict[str, List[TimingResult]]:
    """Build the modules of ``sigs`` and time them in interleaved rounds.

    Args:
        sigs (Sequence[OpSignature]): What to measure.
        device (str): Where.
        act (str): Activation of the space.
        rounds (int): Rounds.
        backend (str): ``'torch'`` or ``'onnxruntime-cpu'``
            (:func:`~.ort_backend.on_backend`).
        **timing: ``warmup``, ``min_repeats``, ``max_repeats``,
            ``max_seconds``, ``clock`` of each round.

    Returns:
        dict: Key -> one :class:`~densenas_mm.utils.timing_stats.TimingResult`
        (ms) per round.
    """
    items = {}
    for sig in sigs:
        x = make_input(sig, device)
        items[sig.key] = (on_backend(
            prepare(build_module(sig, act), sig, device), x, backend), x)
    return time_modules(items, rounds, **timing)


def _differences(old: LatencyTable, new: LatencyTable) -> List[str]:
    """Why entries of ``old`` cannot be reused in ``new`` (version 2 and 3
    entries are the same; a version 2 table was timed with torch and did
    not record the GPU's name apart from its ``device``)."""
    same = old.version == new.version or {old.version, new.version} <= {2, 3}
    out = [] if same else [f'schema version: {old.version} -> {new.version}']
    for k in IDENTITY_KEYS:
        mine, theirs = old.metadata.get(k), new.metadata.get(k)
        if k == BACKEND_KEY:
            mine, theirs = table_backend(old.metadata), table_backend(
                new.metadata)
        if k == GPU_NAME_KEY and mine is None and old.version < 3:
            continue
        if mine != theirs:
            out.append(f'{k}: {mine!r} -> {theirs!r}')
    return out


def _seed_table(table: LatencyTable, path: str, strict: bool) -> None:
    """Copy entries of the table at ``path`` into ``table`` if compatible.

    Raises:
        LatencyTableError: If the file is not a valid table, or (``strict``)
            one measured with another setting; the message says how to get
            past it (rerunning would repeat the error).
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
            raise LatencyTableError(
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
                        device: Optional[str] = None,
                        *,
                        out: Optional[str] = None,
                        setting: Union[TableSetting, Dict, None] = None,
                        timing: Union[RoundSettings, Dict, None] = None,
                        options: Union[BuildOptions, Dict, None] = None,
                        measure: Optional[MeasureFn] = None,
                        **flat: Any) -> Tuple[LatencyTable, BuildReport]:
    """Measure every op a search space needs (see the module docstring).

    Args:
        space (dict | SearchSpace): The space.
        device (str, optional): ``'cpu'`` or ``'cuda[:N]'`` (same as
            ``setting.device``; default ``'cpu'``).
        out (str, optional): Output JSON path (``OUT.partial`` is the cache).
            None keeps the table in memory only (no resume).
        setting (TableSetting | dict, optional): What the table is for.
        timing (RoundSettings | dict, optional): How entries are timed.
        options (BuildOptions | dict, optional): How the build runs.
        measure (callable, optional): ``(sigs, device, act, rounds,
            **timing) -> {key: [TimingResult in ms per round]}``; defaults
            to :func:`measure_signatures`.
        **flat: The fields of the three groups as flat keywords
            (``batch_size=8``, ``max_repeats=50``, ``resume=False``, ...;
            :data:`FLAT_KEYS`).

    Returns:
        tuple[LatencyTable, BuildReport]: The table and what was done.

    Raises:
        ValueError: For a bad statistic, clock, rounds or tolerance.
        TypeError: For an unknown keyword or one given twice.
    """
    start = time.perf_counter()
    if device is not None:
        flat = dict(flat, device=device)
    groups = group_settings(
        'build_latency_table', SETTINGS,
        dict(setting=setting, timing=timing, options=options), flat,
        FLAT_KEYS)
    target, rounds, opts = (groups['setting'], groups['timing'],
                            groups['options'])
    space = SearchSpace.from_config(space)
    device = check_device(target.device)
    backend = check_backend(target.backend, device, target.dtype,
                            target.memory_format)
    # ONNX Runtime may run an op on its own threads: time the wall clock
    clock = resolve_clock(
        'wall' if backend != 'torch' and rounds.clock == 'auto' else
        rounds.clock, device)
    loop = rounds.loop_kwargs(clock)
    table = _open_table(space, device, target, rounds, loop, out,
                        opts.resume)
    needs = space_ops(space, SpaceGraph(space), target.batch_size,
                      target.dtype, target.memory_format).unique()
    todo, prior = _plan(table, needs, rounds.tolerance)
    report = BuildReport(
        out, len(needs), reused=len(needs) - len(todo), remeasured=len(prior))
    print_log(
        f'latency table for {space.name!r} on {table.device} ({clock} '
        f'clock, {rounds.rounds} interleaved rounds per op): {len(needs)} '
        f'distinct ops needed, {report.reused} reused, '
        f'{len(todo) - len(prior)} to measure, {len(prior)} noisy ones to '
        're-measure',
        logger='current')

    def run(sigs: Sequence[OpSignature],
            n: int) -> Mapping[str, Sequence[TimingResult]]:
        extra = {} if backend == 'torch' else dict(backend=backend)
        return (measure or measure_signatures)(sigs, device, space.act, n,
                                               **extra, **loop)

    report.extra_rounds = _measure_chunks(table, todo, prior, run, rounds,
                                          opts, out)
    report.measured = len(todo) - len(prior)
    _finish(table, report, needs, rounds, out)
    report.seconds = time.perf_counter() - start
    return table, report


def _open_table(space: SearchSpace, device: str, target: TableSetting,
                rounds: RoundSettings, loop: Dict[str, Any],
                out: Optional[str], resume: bool) -> LatencyTable:
    """The (partial) table of this build: its metadata, the entries of a
    compatible earlier build of ``out`` (``resume``), the space listed."""
    allocator = 'default'
    if rounds.keep_memory and keep_freed_memory():
        allocator = KEEP_MEMORY
    meta = dict(
        environment(device),
        batch_size=target.batch_size,
        dtype=target.dtype,
        memory_format=target.memory_format,
        unit='ms',
        backend=target.backend,
        created=timestamp(),
        spaces=[],
        input_sizes=[],
        allocator=allocator,
        statistic=rounds.statistic,
        rounds=rounds.rounds,
        extra_rounds=rounds.extra_rounds,
        **loop)
    table = LatencyTable(meta, complete=False, source=out or '<memory>')
    if out and resume:
        _seed_table(table, out, strict=True)
        _seed_table(table, _partial(out), strict=False)
    if space.name not in table.metadata['spaces']:
        table.metadata['spaces'] = table.metadata['spaces'] + [space.name]
    if space.input_size not in table.metadata['input_sizes']:
        table.metadata['input_sizes'] = sorted(table.metadata['input_sizes'] +
                                               [space.input_size])
    return table


def _partial(out: str) -> str:
    return f'{out}.partial'


def _plan(table: LatencyTable, needs: Sequence[OpSignature], tolerance: float
          ) -> Tuple[List[OpSignature], Dict[str, RoundStats]]:
    """What to measure: the needed entries the table lacks, and those whose
    rounds disagree (with their rounds so far, which new rounds extend)."""
    prior: Dict[str, RoundStats] = {}
    for sig in needs:
        old = table.round_stats(sig.key) if sig.key in table.entries else None
        if old is not None and not old.agrees(tolerance):
            prior[sig.key] = old
    todo = [s for s in needs if s.key not in table.entries or s.key in prior]
    return todo, prior


def _measure_chunks(table: LatencyTable, todo: Sequence[OpSignature],
                    prior: Mapping[str, RoundStats],
                    run: Callable[[Sequence[OpSignature], int],
                                  Mapping[str, Sequence[TimingResult]]],
                    rounds: RoundSettings, opts: BuildOptions,
                    out: Optional[str]) -> int:
    """Measure ``todo`` chunk by chunk into ``table``; write the partial
    table after every chunk and when interrupted. Returns the extra rounds
    spent on disagreeing entries."""
    partial = _partial(out) if out else None
    bar = ProgressBar(len(todo)) if opts.progress and todo else None
    torch.manual_seed(0)
    step = max(opts.checkpoint_every, 1)
    done = extra = 0
    try:
        for first in range(0, len(todo), step):
            chunk = {s.key: s for s in todo[first:first + step]}
            result = measure_until_agreed(
                lambda keys, n: run([chunk[k] for k in keys], n),
                list(chunk),
                rounds.rounds,
                rounds.tolerance,
                rounds.extra_rounds,
                rounds.statistic,
                prior=prior)
            for key, stats in result.stats.items():
                table.add_rounds(chunk[key], stats, rounds.tolerance)
            extra += sum(result.extra_rounds.values())
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
    return extra


def _finish(table: LatencyTable, report: BuildReport,
            needs: Sequence[OpSignature], rounds: RoundSettings,
            out: Optional[str]) -> None:
    """Judge the complete table, write it (and drop the partial one), and
    list its noisy needed entries in ``report``."""
    table.complete = True
    table.metadata['updated'] = timestamp()
    table.metadata['quality'] = report.quality = assess_entries(
        table.entries, rounds.tolerance, rounds.max_noisy, rounds.statistic)
    if out:
        table.save(out)
        if os.path.exists(_partial(out)):
            os.unlink(_partial(out))
    for sig in needs:
        e = table.entries[sig.key]
        if e.get('noisy'):
            report.noisy.append(
                (sig.key, e['latency'], e.get('rel_err'), e['rounds']))
