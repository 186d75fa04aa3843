"""The machine's level of the moment, from a calibration's own nets.

A calibration holds for the speed of the machine at its fit. On a shared
machine that speed moves between sittings (docs/latency.md); timing the
fit's nets again (seconds, no new fit) gives the level now:

- :func:`calibration_nets`: the nets a calibration was fitted on.
- :func:`level_check`: the level from their timings now.
- :func:`measure_level`: time them and rescale the calibration to it.
- :func:`check_level`: the job of ``tools/analysis/latency_level.py``.
"""
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch

from densenas_mm.latency import LatencyTable
from densenas_mm.latency.calibration import (LEVEL_SPREAD_LIMIT, Calibration,
                                             level_spread, machine_drift)
from densenas_mm.structures import DerivedArch
from densenas_mm.utils.io import dump_json_atomic
from .cli import ToolOutput
from .latency_agreement import measure_nets, prepare_timing, where_now
from .random_arch import random_arch


def calibration_nets(table: LatencyTable,
                     like: DerivedArch) -> List[DerivedArch]:
    """The nets a table's calibration was fitted on, rebuilt from their
    ``net_config`` strings with ``like``'s input size, classes, stem
    stride, input channels and activation (any net of the space).

    Raises:
        ValueError: When the table has no calibration with its nets.
    """
    samples = (table.calibration.fit.get('samples')
               if table.calibration else None)
    if not samples:
        raise ValueError(
            f'{table.source} has no calibration with its nets; calibrate '
            'it with tools/analysis/calibrate_latency.py first')
    return [
        DerivedArch.from_net_config(
            r['net'], input_size=like.input_size,
            num_classes=like.num_classes, stem_stride=like.stem_stride,
            in_channels=like.in_channels, act=like.act) for r in samples
    ]


def level_check(table: LatencyTable, now: Sequence[float],
                device: str, backend: str) -> Dict[str, Any]:
    """The level of the machine from the calibration's nets timed ``now``:
    ``level`` (:func:`~densenas_mm.latency.calibration.machine_drift`,
    relative to the fit), ``change`` (relative to the level the table is
    at), ``spread`` (:func:`~densenas_mm.latency.calibration.level_spread`),
    ``refit`` (spread above the limit: fit again rather than rescale) and
    where and when."""
    at_fit = [r['measured'] for r in table.calibration.fit['samples']]
    level = machine_drift(at_fit, now)
    spread = level_spread(at_fit, now)
    return dict(where_now(device, backend), nets=len(at_fit), level=level,
                change=level / table.calibration.level, spread=spread,
                refit=spread > LEVEL_SPREAD_LIMIT)


def measure_level(table: LatencyTable,
                  nets: Sequence[DerivedArch],
                  device: str,
                  backend: str,
                  info: Optional[Dict[str, Any]] = None,
                  **timing: Any) -> Tuple[Dict[str, Any], List[Any],
                                          Calibration]:
    """Time a calibration's own nets now and rescale the calibration to
    the level they show.

    Args:
        table (LatencyTable): A table with a calibration and its nets.
        nets (list[DerivedArch]): The calibration's nets
            (:func:`calibration_nets`), in the order of its samples.
        device (str): Where to time.
        backend (str): The table's timing backend (for the report).
        info (dict, optional): More fields for the record of this check
            in the rescaled calibration's ``fit.level_checks``.
        **timing: Round settings of :func:`.latency_agreement.measure_nets`.

    Returns:
        tuple: The check (:func:`level_check`), each net's round
        statistics, and the calibration at the level now
        (:meth:`~densenas_mm.latency.calibration.Calibration.at_level`;
        ``table`` keeps its own).
    """
    stats = measure_nets(table, nets, device, backend, **timing)
    check = level_check(table, [s.value for s in stats], device, backend)
    leveled = table.calibration.at_level(check['level'],
                                         dict(check, **(info or {})))
    return check, stats, leveled


def check_level(config: str,
                lut: str,
                out: Optional[str] = None,
                device: str = 'cpu',
                backend: Optional[str] = None,
                threads: Optional[int] = None,
                json: Optional[str] = None,
                command: Optional[str] = None,
                **timing: Any) -> ToolOutput:
    """Time a calibrated table's own fit nets again and rescale the
    calibration to the machine's current level.

    Where the machine's speed moves between sittings (a shared VM: the
    whole-net level moved by up to 20 % within minutes in docs/latency.md),
    a calibration holds for the sitting of its fit. Re-timing its nets
    (seconds, no new fit) gives the level now; with ``out`` the table is
    written with every coefficient times that level
    (:meth:`~densenas_mm.latency.calibration.Calibration.at_level`). When
    the nets moved unevenly (``spread`` above
    :data:`~densenas_mm.latency.calibration.LEVEL_SPREAD_LIMIT`), the
    machine changed more than its level and the report says to fit again.

    Args:
        config (str): The search config of the table's space.
        lut (str): The calibrated table.
        out (str, optional): Write the rescaled table here (may be ``lut``).
        device (str): Where to time (the table's device).
        backend (str, optional): Must be the table's timing backend.
        threads (int, optional): Torch CPU threads (default: the table's).
        json (str, optional): Write the report here.
        command (str, optional): The command line, recorded.
        **timing: Round settings of :func:`.latency_audit.measure_like_table`.

    Returns:
        ToolOutput: The per-net ratios and the level (status 2 for a table
        without calibration nets); result: the report dict.
    """
    table, device, backend, mutator = prepare_timing(lut, config, device,
                                                     threads, backend)
    try:
        nets = calibration_nets(
            table, random_arch(mutator, torch.Generator().manual_seed(0)))
    except ValueError as err:
        return ToolOutput(2, err=f'error: {err}')
    check, stats, after = measure_level(table, nets, device, backend,
                                        dict(command=command), **timing)
    before = table.calibration
    report = dict(
        check, command=command, table=table.source, config=config,
        calibration_before=before.describe(), level_before=before.level,
        calibration_after=after.describe(), out=out,
        timing={k: v for k, v in timing.items() if v is not None},
        nets_rows=[dict(net=r['net'], at_fit=r['measured'], now=v,
                        ratio=v / r['measured'], noise=s.rel_err)
                   for r, v, s in zip(before.fit['samples'],
                                      [s.value for s in stats], stats)])
    if out:
        table.with_calibration(after).save(out)
    if json:
        dump_json_atomic(report, json, indent=2)
    lines = [f'{"net":<4}{"at fit":>9}{"now":>9}{"ratio":>8}']
    for i, row in enumerate(report['nets_rows']):
        lines.append(f'{i:<4}{row["at_fit"]:>9.3f}{row["now"]:>9.3f}'
                     f'{row["ratio"]:>8.3f}')
    lines.append(
        f'level on {check["device"]} ({backend}, load '
        f'{check["load"][0]:.2f}): the calibration\'s {check["nets"]} nets '
        f'take {check["level"]:.3f} x their time at the fit '
        f'({100 * (check["change"] - 1):+.1f} % against the table\'s level '
        f'{before.level:.3f}); spread of the ratios '
        f'{100 * check["spread"]:.1f} %')
    if check['refit']:
        lines.append(
            f'the nets moved unevenly (spread above '
            f'{100 * LEVEL_SPREAD_LIMIT:g} %): the machine changed more '
            'than its speed; calibrate again with '
            'tools/analysis/calibrate_latency.py')
    lines.append(f'wrote {out}: {after.describe()}' if out else
                 'give --out to write the table rescaled to this level')
    if json:
        lines.append(f'wrote {json}')
    return ToolOutput(0, '\n'.join(lines), result=report)
