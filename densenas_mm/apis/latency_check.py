"""The latency audit tool's job (``tools/analysis/latency_audit.py``):
a latency table against latency measured here, in one of three modes.

- one architecture: each part and the whole net timed and compared with
  the table's prediction (:func:`~.latency_audit.audit_arch`);
- ``random=N``: rank agreement of LUT-predicted and measured latency over
  N random architectures of a search config
  (:func:`~.latency_agreement.rank_agreement`);
- ``compare=OTHER``: two tables of the same setting, per entry and on path
  sums of random nets (:func:`~.latency_agreement.compare_tables`; no
  timing).
"""
import os
from typing import Any, Dict, List, Optional

from densenas_mm.latency import LatencyTable
from densenas_mm.structures import DerivedArch, check_arch_in_recorded_space
from densenas_mm.structures.published import DENSENAS_C
from densenas_mm.utils.io import dump_json_atomic
from .latency_agreement import compare_tables, random_archs, rank_agreement
from .latency_audit import audit_arch, format_audit


def load_audit_arch(arch: Optional[str] = None,
                    densenas_c: bool = False,
                    num_classes: Optional[int] = None) -> DerivedArch:
    """The architecture to audit.

    Args:
        arch (str, optional): An architecture YAML / JSON, or a file
            holding a net_config string.
        densenas_c (bool): The published DenseNAS-C instead.
        num_classes (int, optional): Override the classifier width.

    Returns:
        DerivedArch: The architecture.

    Raises:
        ValueError: Neither ``arch`` nor ``densenas_c`` given.
        ArchError: For a file that is no architecture, or one that does not
            fit the search space it records (every problem listed).
    """
    if densenas_c:
        source = DENSENAS_C
    elif arch:
        source = arch
        if not arch.endswith(
            ('.yaml', '.yml', '.json')) and os.path.isfile(arch):
            with open(arch, encoding='utf-8') as f:
                source = f.read()
    else:
        raise ValueError('give an architecture file or --densenas-c')
    derived = DerivedArch.load(source)
    # what train.py and plot_arch.py report for a file that does not fit
    # its space, before any table entry is looked up
    check_arch_in_recorded_space(derived, arch)
    if num_classes:
        derived.num_classes = num_classes
    return derived


def _random_nets(config: Optional[str], count: int,
                 seed: int) -> List[DerivedArch]:
    if not config:
        raise ValueError('--random needs --config (the search config of the '
                         "table's space)")
    return random_archs(config, count, seed)


def format_rank(report: Dict[str, Any]) -> str:
    """The random mode's table: one row per net, then the rank agreement.

    Args:
        report (dict): :func:`~.latency_agreement.rank_agreement`'s report.

    Returns:
        str: The table.
    """
    lines = [
        f'{"net":<4}{"LUT ms":>9}{"measured ms":>13}{"noise":>8}'
        f'{"rel. error":>12}'
    ]
    for i, n in enumerate(report['nets']):
        noise = '-' if n['noise'] is None else f'{100 * n["noise"]:.1f}%'
        lines.append(f'{i:<4}{n["predicted_ms"]:>9.3f}'
                     f'{n["measured_ms"]:>13.3f}{noise:>8}'
                     f'{100 * n["rel_error"]:>+11.1f}%')
    lines.append(
        f"Kendall's tau {report['kendall_tau']:.3f} (p "
        f"{report['kendall_p']:.2g}), Spearman's rho "
        f"{report['spearman_rho']:.3f} over {len(report['nets'])} nets; "
        f"{report['clock']} clock, {report['statistic']}; load "
        f"{report['load_before'][0]:.2f} -> {report['load_after'][0]:.2f}")
    return '\n'.join(lines)


def format_compare(report: Dict[str, Any]) -> str:
    """The compare mode's summary.

    Args:
        report (dict): :func:`~.latency_agreement.compare_tables`' report.

    Returns:
        str: The summary lines.
    """
    entry = report['entry']
    lines = [
        f'{report["entries"]} common entries; max/min - 1 per entry: '
        f'median {100 * entry["median"]:.1f} %, p90 '
        f'{100 * entry["p90"]:.1f} %, max {100 * entry["max"]:.1f} %'
    ]
    if 'path' in report:
        path = report['path']
        lines.append(
            f'path sums of {len(report["paths"])} random nets: median '
            f'{100 * path["median"]:.1f} %, max {100 * path["max"]:.1f} %')
    for w in report['worst']:
        lines.append(f'  {w["key"]}: {w["a"]:.3f} vs {w["b"]:.3f} ms '
                     f'({100 * w["diff"]:+.1f} %)')
    return '\n'.join(lines)


def check_latency(lut: str,
                  arch: Optional[str] = None,
                  densenas_c: bool = False,
                  device: str = 'cpu',
                  batch_size: Optional[int] = None,
                  num_classes: Optional[int] = None,
                  random: Optional[int] = None,
                  config: Optional[str] = None,
                  seed: int = 0,
                  compare: Optional[str] = None,
                  threads: Optional[int] = None,
                  json: Optional[str] = None,
                  command: Optional[str] = None,
                  **timing: Any) -> str:
    """Audit the table ``lut`` in the mode its arguments select.

    Args:
        lut (str): The latency table JSON.
        arch (str, optional): Architecture to audit (see
            :func:`load_audit_arch`).
        densenas_c (bool): Audit the published DenseNAS-C.
        device (str): Device measured on.
        batch_size (int, optional): Measure at this batch size (default the
            table's).
        num_classes (int, optional): Classifier width of the audited net.
        random (int, optional): Rank agreement over this many random
            architectures of ``config`` (with ``compare``: path sums of
            that many nets).
        config (str, optional): Search config of the table's space.
        seed (int): Seed of the random architectures.
        compare (str, optional): Compare ``lut`` with this table (no
            timing).
        threads (int, optional): Torch CPU threads (default on a CPU: the
            table's).
        json (str, optional): Also write the rows / report here.
        command (str, optional): The command line, recorded in the random
            mode's report.
        **timing: Round settings and ``clock`` (None: the table's).

    Returns:
        str: The text to print.

    Raises:
        ValueError: A mode without its inputs.
    """
    import torch
    table = LatencyTable.load(lut)
    quality = table.quality
    lines = [
        f'table: {lut} ({table.device}, batch {table.batch_size}, '
        f'{table.metadata.get("clock", "unknown")} clock); noise verdict '
        f'{quality.status}: {quality.reason}',
        'calibration: ' + (table.calibration.describe()
                           if table.calibration else 'none (raw per-op sums)')
    ]
    if compare:
        report = compare_tables(
            table, LatencyTable.load(compare),
            _random_nets(config, random, seed) if random else ())
        lines.append(format_compare(report))
        if json:
            dump_json_atomic(report, json, indent=2)
        return '\n'.join(lines)
    threads = threads or (table.metadata.get('num_threads')
                          if device == 'cpu' else None)
    if threads:
        # Measure with the thread count the table was built with.
        torch.set_num_threads(int(threads))
    if random:
        report = rank_agreement(table, _random_nets(config, random, seed),
                                device, **timing)
        report.update(command=command, seed=seed)
        lines.append(format_rank(report))
        if json:
            dump_json_atomic(report, json, indent=2)
        return '\n'.join(lines)
    rows = audit_arch(
        load_audit_arch(arch, densenas_c, num_classes),
        table,
        device=device,
        batch_size=batch_size,
        **timing)
    lines += [
        f'measured on {device}, batch {batch_size or table.batch_size}',
        format_audit(rows)
    ]
    if json:
        dump_json_atomic([
            dict(
                part=r.name,
                predicted_ms=r.predicted,
                measured_ms=r.measured,
                noise=r.noise,
                rounds=r.rounds,
                rel_error=r.rel_error) for r in rows
        ], json)
    return '\n'.join(lines)
