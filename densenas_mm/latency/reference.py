"""Import the DenseNAS reference code's positional latency lists.

The reference files (``lat_list_densenas_mbv2_xp32``, ``lat_list_resv2_32``)
are one positional nested list each, parsed here with ``ast.literal_eval``::

    [stem, [block_1 .. block_N], [terminal 1x1 branches], classifier]
    block_j = [head_costs, stack_costs]

``head_costs`` holds one list (one cost per head op) per incoming edge,
nearest predecessor first; ``stack_costs`` one list (one cost per stack op,
skip last) per stacking layer. Rows beyond a block's stacking layers (MBV2
blocks 14-16 carry 3 although the space gives them none) are ignored and
counted. Stacking layers of one block share a signature, so their values are
merged into one entry: mean of the values, std of their spread, count = the
number of values (the one thing the keyed format loses: on the DenseNAS-C
path it moves the chained cost by 0.005 ms, docs/latency.md). Skip entries
are kept, and the estimator costs a skip layer with them, as the reference's
chained cost does (``skip_reg`` replaces them).
"""
import ast
import math
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

from densenas_mm.search_space import SearchSpace, SpaceGraph, naming
from .measure import timestamp
from .needs import space_ops
from .signature import OpSignature
from .table import LatencyTable, LatencyTableError


@dataclass
class ImportReport:
    """Counts of an import.

    Attributes:
        scalars (int): Scalar entries in the file.
        used (int): Scalars mapped to table entries.
        ignored (int): Scalars ignored (extra stacking rows).
        entries (int): Distinct keyed entries written.
        skip_entries (int): Of those, skip entries (the measured cost of a
            skip layer, used by the estimator).
    """
    scalars: int
    used: int
    ignored: int
    entries: int
    skip_entries: int


def _count(x: Any) -> int:
    return sum(_count(y) for y in x) if isinstance(x, list) else 1


def _row(row: Any, n: int, where: str) -> List[float]:
    ok = (
        isinstance(row, list) and len(row) == n and all(
            isinstance(v, (int, float)) and math.isfinite(v) and v >= 0
            for v in row))
    if not ok:
        raise LatencyTableError(
            f'reference table, {where}: expected {n} finite costs >= 0, got '
            f'{row!r}; the file does not match this search space')
    return [float(v) for v in row]


def parse_reference(text: str) -> List[Any]:
    """Parse the positional list safely (``ast.literal_eval``, never eval)."""
    try:
        data = ast.literal_eval(text.strip())
    except (ValueError, SyntaxError) as err:
        raise LatencyTableError(
            f'reference table is not a literal nested list ({err})') from None
    if not (isinstance(data, list) and len(data) == 4
            and isinstance(data[1], list) and isinstance(data[2], list)):
        raise LatencyTableError(
            'reference table must be [stem, [blocks], [terminal branches], '
            'classifier]')
    return data


def import_reference(
    text: str,
    space: Any,
    device: str = 'TITAN-Xp (reference table)',
    batch_size: int = 32,
    source: str = 'reference table',
    num_classes: Optional[int] = None,
    extra_metadata: Optional[Dict[str, Any]] = None
) -> Tuple[LatencyTable, ImportReport]:
    """Convert a reference positional list to a keyed latency table.

    Args:
        text (str): The file content.
        space (dict | SearchSpace): The space the list was measured for.
        device (str): Device name for the metadata.
        batch_size (int): Batch size the list was measured at.
        source (str): Provenance for the metadata.
        num_classes (int, optional): Classes the classifier entry is keyed
            by (default: the space's; the reference file does not say).
        extra_metadata (dict, optional): More metadata fields.

    Returns:
        tuple[LatencyTable, ImportReport]: The table and the counts.

    Raises:
        LatencyTableError: If the list's shape does not match the space,
            naming the block / edge / layer that disagrees.
    """
    space = SearchSpace.from_config(space)
    if num_classes:
        space = SearchSpace.from_config(
            dict(space.to_dict(), num_classes=num_classes))
    graph = SpaceGraph(space)
    data = parse_reference(text)
    ops = space_ops(space, graph, batch_size, 'float32', 'contiguous')
    values: Dict[str, List[float]] = {}
    sigs: Dict[str, OpSignature] = {}

    def put(sig: OpSignature, value: float) -> None:
        values.setdefault(sig.key, []).append(value)
        sigs[sig.key] = sig

    put(ops.stem, _row([data[0]], 1, 'stem')[0])
    put(ops.classifier, _row([data[3]], 1, 'classifier')[0])
    blocks = data[1]
    if len(blocks) != space.num_blocks:
        raise LatencyTableError(
            f'reference table has {len(blocks)} blocks, the space '
            f'{space.name!r} {space.num_blocks}')
    ignored = 0
    for block, entry in enumerate(blocks, start=1):
        if not (isinstance(entry, list) and len(entry) == 2):
            raise LatencyTableError(f'reference block {block} must be '
                                    '[head_costs, stack_costs]')
        heads, stacks = entry
        if len(heads) != len(graph.incoming[block]):
            raise LatencyTableError(
                f'reference block {block} has {len(heads)} head rows, the '
                f'space gives it {len(graph.incoming[block])} incoming edges')
        for src, row in zip(graph.incoming[block], heads):
            alias = naming.head_alias(block, src)
            costs = _row(row, len(space.head_ops), f'head {alias}')
            for sig, cost in zip(ops.heads[alias], costs):
                put(sig, cost)
        layers = graph.num_layers[block]
        if len(stacks) < layers:
            raise LatencyTableError(
                f'reference block {block} has {len(stacks)} stacking rows, '
                f'the space gives it {layers} stacking layers')
        for layer, row in enumerate(stacks):
            costs = _row(row, len(space.stack_ops),
                         f'block {block} stacking row {layer}')
            if layer >= layers:
                ignored += len(costs)
                continue
            alias = naming.layer_alias(block, layer)
            for sig, cost in zip(ops.stacks[alias], costs):
                put(sig, cost)
    terms = data[2]
    if len(terms) != len(graph.incoming[graph.terminal]):
        raise LatencyTableError(
            f'reference table has {len(terms)} terminal branches, the space '
            f'{len(graph.incoming[graph.terminal])}')
    for src, cost in zip(graph.incoming[graph.terminal],
                         _row(terms, len(terms), 'terminal branches')):
        put(ops.terminals[src], cost)
    meta = dict(
        device=device,
        device_type='reference',
        batch_size=batch_size,
        dtype='float32',
        memory_format='contiguous',
        unit='ms',
        torch=None,
        cuda=None,
        cudnn=None,
        source=source,
        spaces=[space.name],
        input_sizes=[space.input_size],
        created=timestamp(),
        imported=True,
        note=('converted from the DenseNAS reference positional list; '
              'stacking layers of one block are merged (count = values '
              'merged, std = their spread)'))
    meta.update(extra_metadata or {})
    table = LatencyTable(meta, source=source)
    for key, vals in values.items():
        mean = sum(vals) / len(vals)
        std = (
            math.sqrt(sum(
                (v - mean)**2
                for v in vals) / (len(vals) - 1)) if len(vals) > 1 else 0.0)
        table.add(sigs[key], mean, std, len(vals))
    used = sum(len(v) for v in values.values())
    report = ImportReport(
        scalars=_count(data),
        used=used,
        ignored=ignored,
        entries=len(table),
        skip_entries=sum(1 for s in sigs.values() if s.is_skip))
    if report.used + report.ignored != report.scalars:
        raise LatencyTableError(
            f'reference table: {report.scalars} scalars but {report.used} '
            f'used + {report.ignored} ignored; the layout is not understood')
    return table, report


REFERENCE_TABLES = dict(
    mbv2=dict(
        file='lat_list_densenas_mbv2_xp32',
        preset='densenas_mbv2_224',
        device='TITAN-Xp (reference table)',
        batch_size=32),
    resnet=dict(
        file='lat_list_resv2_32',
        preset='densenas_resnet_224',
        device='unknown GPU (reference table)',
        batch_size=32))
