"""Build a latency table for a search space on the current device.

Every distinct signature the space needs is measured once at its real input
shape (see :mod:`.measure`). The build is resumable: every
``checkpoint_every`` entries, and when interrupted (Ctrl-C, an error), the
table so far is written atomically to ``OUT.partial``; a new build with the
same setting loads it (and an existing ``OUT``) and measures only what is
missing. The final table is written atomically to ``OUT``.
"""
import os
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

import torch
from mmengine.logging import print_log
from mmengine.utils import ProgressBar

from densenas_mm.search_space import SearchSpace, SpaceGraph
from densenas_mm.utils.timing import relative_sem
from .measure import check_device, environment, time_module, timestamp
from .modules import build_module, make_input, prepare
from .needs import space_ops
from .signature import OpSignature
from .schema import LatencyTableError
from .table import LatencyTable, LatencyTableWarning

# Metadata that must agree for measured entries to be reused.
IDENTITY_KEYS = ('device', 'device_type', 'torch', 'cuda', 'cudnn',
                 'num_threads', 'batch_size', 'dtype', 'memory_format', 'unit',
                 'warmup', 'min_repeats', 'max_repeats', 'rel_std',
                 'max_seconds')

MeasureFn = Callable[..., Tuple[float, float, int]]


@dataclass
class BuildReport:
    """What a build did.

    Attributes:
        path (str, optional): Where the table was written.
        needed (int): Distinct entries the space needs.
        measured (int): Entries measured by this run.
        reused (int): Needed entries taken from an earlier (partial) table.
        seconds (float): Wall time of the build.
        noisy (list[tuple]): ``(key, mean_ms, std_ms, count, rel_sem)`` of
            needed entries whose relative standard error of the mean stayed
            above ``rel_std`` (the repeat cap was hit).
    """
    path: Optional[str]
    needed: int
    measured: int = 0
    reused: int = 0
    seconds: float = 0.0
    noisy: List[Tuple[str, float, float, int,
                      float]] = field(default_factory=list)


def measure_signature(sig: OpSignature, device: str, act: str,
                      **timing: Any) -> Tuple[float, float, int]:
    """Build the module of ``sig`` and time it (see :func:`time_module`)."""
    module = prepare(build_module(sig, act), sig, device)
    return time_module(module, make_input(sig, device), **timing)


def _compatible(old: Dict[str, Any], new: Dict[str, Any]) -> List[str]:
    return [k for k in IDENTITY_KEYS if old.get(k) != new.get(k)]


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
    differ = _compatible(old.metadata, table.metadata)
    if differ:
        detail = ', '.join(f'{k}: {old.metadata.get(k)!r} -> '
                           f'{table.metadata.get(k)!r}' for k in differ)
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
                        warmup: int = 3,
                        min_repeats: int = 5,
                        max_repeats: int = 50,
                        rel_std: float = 0.05,
                        max_seconds: Optional[float] = 0.25,
                        dtype: str = 'float32',
                        channels_last: bool = False,
                        checkpoint_every: int = 10,
                        resume: bool = True,
                        progress: bool = True,
                        measure: Optional[MeasureFn] = None
                        ) -> Tuple[LatencyTable, BuildReport]:
    """Measure every op a search space needs.

    Args:
        space (dict | SearchSpace): The space.
        device (str): ``'cpu'`` or ``'cuda[:N]'``.
        batch_size (int): Batch size of every measurement.
        out (str, optional): Output JSON path (``OUT.partial`` is the cache).
            None keeps the table in memory only (no resume).
        warmup (int): Untimed calls per entry.
        min_repeats (int): Timed calls per entry at least.
        max_repeats (int): Timed calls per entry at most.
        rel_std (float): Target relative standard error of each mean.
        max_seconds (float, optional): Cap on the timed runs of one entry
            (seconds; the run count still reaches ``min_repeats``).
        dtype (str): ``float32``, ``float16``, ``bfloat16`` or ``float64``.
        channels_last (bool): Measure in channels-last memory format.
        checkpoint_every (int): Write the partial table every K entries.
        resume (bool): Reuse compatible entries of ``OUT`` / ``OUT.partial``.
        progress (bool): Show an mmengine progress bar.
        measure (callable, optional): ``(sig, device, act, **timing) ->
            (mean, std, count)``; defaults to :func:`measure_signature`.

    Returns:
        tuple[LatencyTable, BuildReport]: The table and what was done.
    """
    start = time.perf_counter()
    space = SearchSpace.from_config(space)
    device = check_device(device)
    measure = measure or measure_signature
    fmt = 'channels_last' if channels_last else 'contiguous'
    needs = space_ops(space, SpaceGraph(space), batch_size, dtype,
                      fmt).unique()
    timing = dict(
        warmup=warmup,
        min_repeats=min_repeats,
        max_repeats=max_repeats,
        rel_std=rel_std,
        max_seconds=max_seconds)
    meta = dict(
        environment(device),
        batch_size=batch_size,
        dtype=dtype,
        memory_format=fmt,
        unit='ms',
        created=timestamp(),
        spaces=[],
        input_sizes=[],
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
    todo = [s for s in needs if s.key not in table.entries]
    report = BuildReport(out, len(needs), reused=len(needs) - len(todo))
    print_log(
        f'latency table for {space.name!r} on {table.device}: '
        f'{len(needs)} distinct ops needed, {report.reused} reused, '
        f'{len(todo)} to measure',
        logger='current')
    bar = ProgressBar(len(todo)) if progress and todo else None
    torch.manual_seed(0)
    try:
        for sig in todo:
            table.add(sig, *measure(sig, device, space.act, **timing))
            report.measured += 1
            if partial and report.measured % max(checkpoint_every, 1) == 0:
                table.metadata['updated'] = timestamp()
                table.save(partial)
            if bar is not None:
                bar.update()
    except BaseException:
        if partial and report.measured:
            table.metadata['updated'] = timestamp()
            table.save(partial)
            print_log(
                f'build interrupted; {len(table)} entries kept in '
                f'{partial}, rerun the same command to resume',
                logger='current',
                level=30)
        raise
    table.complete = True
    table.metadata['updated'] = timestamp()
    if out:
        table.save(out)
        if os.path.exists(partial):
            os.unlink(partial)
    report.seconds = time.perf_counter() - start
    for sig in needs:
        e = table.entries[sig.key]
        rel = relative_sem(e['mean'], e['std'], e['count'])
        if rel > rel_std:
            report.noisy.append(
                (sig.key, e['mean'], e['std'], e['count'], rel))
    return table, report
