"""The latency table tools' jobs: build a table for a search space on this
machine, in passes until it is not noisy (``tools/build_latency_lut.py``),
and import a DenseNAS reference list
(``tools/analysis/import_reference_lut.py``)."""
import os
import time
from dataclasses import replace
from typing import Any, Dict, List, Optional

import torch

from densenas_mm.latency import (REFERENCE_TABLES, BuildOptions, BuildReport,
                                 LatencyTable, RoundSettings, TableSetting,
                                 build_latency_table, import_reference,
                                 table_path)
from densenas_mm.latency.measure import check_device
from densenas_mm.search_space import load_preset, search_space_from_cfg
from .cli import ToolOutput
from .model_io import load_config


def format_build(out: str, table: LatencyTable, report: BuildReport,
                 space_name: str, seconds: float) -> str:
    """The report of a finished build: entries, clock, verdict, the
    noisiest entries.

    Args:
        out (str): The table's path.
        table (LatencyTable): The table built.
        report (BuildReport): Its build report.
        space_name (str): The search space's name.
        seconds (float): Time the build took.

    Returns:
        str: The report lines.
    """
    lines = [
        f'\nwrote {out}: {len(table)} entries ({report.needed} needed by '
        f'{space_name!r}: {report.measured} measured, {report.remeasured} '
        f're-measured, {report.reused} reused; {report.extra_rounds} extra '
        f'rounds) on {table.device}, {table.metadata["clock"]} clock, in '
        f'{seconds:.1f}s'
    ]
    if table.metadata.get('device_type') == 'cuda':
        meta = table.metadata
        lines.append(
            f'CUDA {meta.get("cuda")}, cuDNN {meta.get("cudnn")}, '
            f'{meta.get("calls_per_sample")} calls per sample; '
            f'cudnn.benchmark={meta.get("cudnn_benchmark")}, '
            f'cudnn.allow_tf32={meta.get("cudnn_allow_tf32")}, '
            f'matmul.allow_tf32={meta.get("matmul_allow_tf32")} '
            '(searches with other flags are warned)')
    quality = report.quality
    lines.append(f'table {quality["status"].upper()}: {quality["reason"]}')
    if report.noisy:
        lines.append(f'{len(report.noisy)} noisy entries (rounds still '
                     'disagree; rerun the same command to add rounds to '
                     'them):')
        for key, latency, err, rounds in sorted(
                report.noisy, key=lambda r: -(r[2] or float('inf')))[:10]:
            err_txt = 'n/a' if err is None else f'{100 * err:.1f} %'
            lines.append(f'  {key}: {latency:.3f} ms, round medians '
                         f'{"/".join(f"{v:.3g}" for v in rounds)}, '
                         f'uncertainty {err_txt}')
        if len(report.noisy) > 10:
            lines.append(f'  ... and {len(report.noisy) - 10} more')
    return '\n'.join(lines)


def build_table(config: str,
                setting: TableSetting,
                timing: RoundSettings,
                options: BuildOptions,
                out: Optional[str] = None,
                threads: Optional[int] = None,
                passes: int = 2,
                print_path: bool = False,
                cfg_options: Optional[Dict[str, Any]] = None) -> ToolOutput:
    """Build (or extend, or resume) the latency table of ``config``'s
    search space.

    Args:
        config (str): Config with a ``search_space`` (or a model config
            whose backbone has one).
        setting (TableSetting): Device, batch size, dtype, memory format.
        timing (RoundSettings): The interleaved-round settings.
        options (BuildOptions): Checkpointing, resume, progress bar.
        out (str, optional): Output JSON (default: the naming rule of
            :func:`~densenas_mm.latency.table_path`).
        threads (int, optional): Torch CPU threads.
        passes (int): Builds at most while the table comes out noisy (each
            further one adds rounds to the noisy entries only).
        print_path (bool): Only return the output path.
        cfg_options (dict, optional): Config overrides (derived keys follow
            them, e.g. ``own_data.input_size`` sets the space's size).

    Returns:
        ToolOutput: Status 0 and the report; status 2 and the reason when
        the device is not available.
    """
    if threads:
        torch.set_num_threads(threads)
    try:
        check_device(setting.device)
    except RuntimeError as err:
        return ToolOutput(2, err=f'skipped: {err}')
    space = search_space_from_cfg(load_config(config, cfg_options))
    out = out or table_path(
        space.name, setting.device, setting.batch_size, threads,
        setting.dtype, setting.channels_last, backend=setting.backend)
    if print_path:
        return ToolOutput(0, out)
    start = time.perf_counter()
    notes: List[str] = []
    for done in range(1, max(passes, 1) + 1):
        table, report = build_latency_table(
            space, out=out, setting=setting, timing=timing, options=options)
        # a further pass adds rounds to the noisy entries of this one
        options = replace(options, resume=True)
        if report.quality['status'] != 'noisy' or done >= passes:
            break
        notes.append(f'\ntable noisy after build {done} of at most {passes} '
                     f'({len(report.noisy)} noisy entries); adding rounds to '
                     'them')
    notes.append(
        format_build(out, table, report, space.name,
                     time.perf_counter() - start))
    return ToolOutput(0, '\n'.join(notes))


def import_reference_table(file: str,
                           kind: Optional[str] = None,
                           space: Optional[str] = None,
                           device: Optional[str] = None,
                           batch_size: int = 32,
                           num_classes: Optional[int] = None,
                           out: Optional[str] = None) -> str:
    """Convert a DenseNAS reference latency list to a keyed table and
    write it.

    Args:
        file (str): The reference list file.
        kind (str, optional): ``'mbv2'`` or ``'resnet'`` (default: guessed
            from the file name, mbv2 unless it contains ``res``).
        space (str, optional): Search-space config to map onto (default:
            the paper space of ``kind``).
        device (str, optional): Device name for the metadata (default:
            the reference's).
        batch_size (int): Batch size of the reference measurements.
        num_classes (int, optional): Classes the classifier entry is keyed
            by (default: the space's).
        out (str, optional): Output JSON (default: the naming rule of
            :func:`~densenas_mm.latency.table_path`).

    Returns:
        str: What was consumed and written.
    """
    kind = kind or ('resnet' if 'res' in os.path.basename(file) else 'mbv2')
    preset = REFERENCE_TABLES[kind]
    search_space = (search_space_from_cfg(space)
                    if space else load_preset(preset['preset']))
    with open(file, encoding='utf-8') as f:
        text = f.read()
    table, report = import_reference(
        text,
        search_space,
        device=device or preset['device'],
        batch_size=batch_size,
        num_classes=num_classes,
        source=f'JaminFong/DenseNAS@e479206 {os.path.basename(file)}')
    out = out or table_path(search_space.name, 'ref', batch_size)
    table.save(out)
    return (f'{file}: {report.scalars} scalar entries consumed: '
            f'{report.used} mapped, {report.ignored} ignored (stacking rows '
            'the space does not have)\n'
            f'wrote {out}: {report.entries} keyed entries '
            f'({report.skip_entries} skip entries: the estimator costs a '
            'skip layer with them, as the reference does, unless skip_reg)')
