"""Runs in worker processes, with kill-safe resume of finished runs.

A training or a test builds an mmengine ``Runner``, whose message hub,
visualizer, loggers and default scope are process-wide: two runs in one
process would share them. :func:`run_job` therefore calls an importable
function (``densenas_mm.apis.launch.run_train`` / ``run_test``) with keyword
arguments in a fresh process (multiprocessing, ``'spawn'`` context), its
output (stdout, stderr, tracebacks) going to the run's log file. Threads may
run several jobs at once (:func:`parallel`): each waits on its own process.

A job that succeeds records its call in ``done.json`` next to its log (one
entry per job name); with ``reuse`` a job whose recorded call is the same is
not run again, so an interrupted experiment picks up where it stopped.
The record also names the checkout it was made in; absolute paths inside
a checkout compare relative to it (:func:`same_call`), so an experiment's
work dir under the checkout (``work_dirs/...``) is reused from another
clone or a moved one, the work dir copied to the same place in it.
A job that succeeds also leaves the CPU seconds its process used (user +
system, with its own children) in ``cpu_<name>.json`` next to its log, so an
experiment split over several sittings can add up what it cost
(:func:`cpu_seconds`), and the CPU model that ran it, so a report can say
which machines its runs were made on (:func:`run_usage`).
"""
import json
import multiprocessing
import os
import os.path as osp
import resource
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import (Any, Callable, Dict, List, NamedTuple, Optional,
                    Sequence)

from densenas_mm.utils.io import dump_json_atomic
from .paths import REPO_ROOT, inside

#: Name of the marker a finished run leaves in its work dir (its calls).
DONE_FILE = 'done.json'


def cpu_file(log: str, name: str) -> str:
    """Where a job's CPU seconds are recorded (next to its log)."""
    return osp.join(osp.dirname(osp.abspath(log)), f'cpu_{name}.json')


#: What :func:`run_usage` says of records made before the CPU was kept.
UNRECORDED_MACHINE = 'not recorded'


class RunUsage(NamedTuple):
    """What a run folder's finished jobs recorded (``cpu_*.json``).

    Attributes:
        cpu_s (float): Their CPU seconds, added up.
        machine (str): The CPU model that ran them (several joined by
            ``' + '``), or :data:`UNRECORDED_MACHINE` for records without
            it.
    """
    cpu_s: float
    machine: str


def run_usage(folder: str) -> RunUsage:
    """The CPU seconds and the machine of a run folder's finished jobs
    (no folder or no record: 0 seconds, :data:`UNRECORDED_MACHINE`)."""
    records = []
    for entry in sorted(os.listdir(folder)) if osp.isdir(folder) else []:
        if entry.startswith('cpu_') and entry.endswith('.json'):
            with open(osp.join(folder, entry), encoding='utf-8') as f:
                records.append(json.load(f))
    names = sorted({str(r['cpu']) for r in records if r.get('cpu')})
    return RunUsage(sum(float(r['cpu_s']) for r in records),
                    ' + '.join(names) or UNRECORDED_MACHINE)


def cpu_seconds(folder: str) -> float:
    """CPU seconds recorded by the finished jobs of a run folder."""
    return run_usage(folder).cpu_s


def _process_cpu_seconds() -> float:
    """User + system seconds of this process and its waited children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _in_worker(fn: Callable[..., Any], kwargs: Dict[str, Any], log: str,
               cpu_out: str) -> None:
    """Body of a worker process: output to ``log``, then ``fn(**kwargs)``
    with the checkout as working directory (configs name their bases and
    data relative to it), then its CPU seconds into ``cpu_out``. An
    exception ends the process with exit code 1 and its traceback in the
    log."""
    fd = os.open(log, os.O_WRONLY | os.O_APPEND)
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    os.chdir(REPO_ROOT)
    try:
        fn(**kwargs)
        from densenas_mm.latency.measure import cpu_name
        dump_json_atomic(
            dict(cpu_s=round(_process_cpu_seconds(), 3), cpu=cpu_name()),
            cpu_out)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()


def call_record(fn: Callable[..., Any],
                kwargs: Dict[str, Any]) -> Dict[str, Any]:
    """What ``done.json`` keeps of a job: the function and its arguments,
    as JSON reads them back (tuples become lists)."""
    return json.loads(
        json.dumps(dict(call=f'{fn.__module__}.{fn.__qualname__}',
                        kwargs=kwargs)))


def _map_strings(value: Any, fn: Callable[[str], Any]) -> Any:
    """``value`` with ``fn`` applied to every string at any depth of dicts
    and lists."""
    if isinstance(value, dict):
        return {k: _map_strings(v, fn) for k, v in value.items()}
    if isinstance(value, list):
        return [_map_strings(v, fn) for v in value]
    return fn(value) if isinstance(value, str) else value


def _strings(value: Any) -> List[str]:
    """Every string at any depth of dicts and lists in ``value``."""
    found: List[str] = []
    _map_strings(value, found.append)
    return found


def portable_record(record: Any, root: Optional[str] = None) -> Any:
    """``record`` with every absolute path inside ``root`` (default: the
    checkout) written as ``<checkout>/<relative path>``, at any depth of
    dicts and lists."""
    root = root or REPO_ROOT

    def portable(text: str) -> str:
        rel = inside(text, root)
        return text if rel is None else osp.join('<checkout>', rel)

    return _map_strings(record, portable)


def recorded_checkout(record: Dict[str, Any], folder: str) -> Optional[str]:
    """The checkout a ``done.json`` record was made in: its ``checkout``
    entry, or for records without one (older runs) the prefix of a
    recorded path to ``folder`` that stands where this checkout stands
    (``/old/checkout/work_dirs/x`` for ``folder`` = ``work_dirs/x`` here);
    None when neither tells."""
    if record.get('checkout'):
        return record['checkout']
    rel = inside(osp.abspath(folder), REPO_ROOT)
    if rel is None or rel == os.curdir:
        return None
    tail = os.sep + rel
    for text in _strings(record.get('kwargs')):
        at = text.find(tail)
        end = at + len(tail)
        if osp.isabs(text) and at > 0 and (end == len(text)
                                            or text[end] == os.sep):
            return text[:at]
    return None


def same_call(old: Dict[str, Any], new: Dict[str, Any], folder: str) -> bool:
    """Whether a recorded call (``old``, from ``folder``'s ``done.json``)
    is ``new``: the same function and the same arguments, paths inside
    each call's checkout compared relative to it."""
    return (old.get('call') == new['call'] and portable_record(
        old.get('kwargs'), recorded_checkout(old, folder))
            == portable_record(new['kwargs']))


def run_job(name: str,
            fn: Callable[..., Any],
            kwargs: Dict[str, Any],
            log: str,
            reuse: bool = False) -> None:
    """Run ``fn(**kwargs)`` in a spawned worker process, logging to ``log``.

    Args:
        name (str): The job's key in ``done.json`` (e.g. ``'train'``).
        fn (Callable): A module-level function (spawn imports it by name).
        kwargs (dict): Its keyword arguments (JSON-serialisable).
        log (str): The log file (overwritten; its directory is created).
        reuse (bool): Skip the job if ``done.json`` records the same call
            (:func:`same_call`).

    Raises:
        RuntimeError: With the end of the log when the job fails.
    """
    folder = osp.dirname(osp.abspath(log))
    os.makedirs(folder, exist_ok=True)
    done_file = osp.join(folder, DONE_FILE)
    done: Dict[str, Any] = {}
    if osp.isfile(done_file):
        with open(done_file, encoding='utf-8') as f:
            done = json.load(f)
    record = call_record(fn, kwargs)
    if reuse and name in done and same_call(done[name], record, folder):
        return
    with open(log, 'w', encoding='utf-8') as f:
        f.write(f"{record['call']}(**{json.dumps(record['kwargs'])})\n")
    proc = multiprocessing.get_context('spawn').Process(
        target=_in_worker, args=(fn, kwargs, log, cpu_file(log, name)),
        name=f'{name}:{log}')
    proc.start()
    try:
        proc.join()
    finally:
        if proc.is_alive():  # interrupted: do not leave the run behind
            proc.terminate()
            proc.join()
    if proc.exitcode != 0:
        with open(log, encoding='utf-8') as f:
            tail = f.read()[-3000:]
        raise RuntimeError(f'{name} failed (exit {proc.exitcode}), log '
                           f'{log}:\n{tail}')
    done[name] = dict(record, checkout=REPO_ROOT)
    dump_json_atomic(done, done_file)


def parallel(jobs: int, fn: Callable[[Any], Any],
             items: Sequence[Any]) -> List[Any]:
    """``[fn(x) for x in items]`` with up to ``jobs`` at once (each ``fn``
    waits on its worker processes, so threads suffice)."""
    if jobs <= 1:
        return [fn(x) for x in items]
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(fn, items))


__all__ = [
    'DONE_FILE', 'UNRECORDED_MACHINE', 'RunUsage', 'call_record',
    'cpu_file', 'cpu_seconds', 'parallel', 'portable_record',
    'recorded_checkout', 'run_job', 'run_usage', 'same_call'
]

