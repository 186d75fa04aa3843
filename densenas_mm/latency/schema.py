"""Schema of the latency-table file: constants, errors, validation."""
import math
from typing import Any, Dict, List, Optional

from .signature import OpSignature

SCHEMA = 'densenas_mm.latency_table'
SCHEMA_VERSION = 1
REQUIRED_METADATA = ('device', 'batch_size', 'dtype', 'memory_format', 'unit')
ENTRY_FIELDS = ('op', 'kernel', 'expansion', 'c_in', 'c_out', 'stride', 'h',
                'w', 'batch_size', 'dtype', 'memory_format', 'mean', 'std',
                'count')
BUILD_HINT = ('build them on the target device with `python '
              'tools/build_latency_lut.py CONFIG --device cpu|cuda '
              '--batch-size B --out TABLE.json` (CONFIG holds the '
              'search_space; entries already in TABLE.json are kept and only '
              'the missing ones are measured)')


class LatencyTableError(ValueError):
    """A latency table is malformed or lacks entries that are needed.

    Attributes:
        missing (list[str]): Keys that were needed but absent (may be empty).
    """

    def __init__(self, message: str, missing: Optional[List[str]] = None):
        super().__init__(message)
        self.missing = list(missing or [])


class LatencyTableWarning(UserWarning):
    """A table describes another device or setting than the one in use."""


def check_metadata(metadata: Dict[str, Any], source: str) -> None:
    """Raise :class:`LatencyTableError` for missing or invalid metadata."""
    lacking = [k for k in REQUIRED_METADATA if k not in metadata]
    if lacking:
        raise LatencyTableError(
            f'latency table {source}: metadata lacks {lacking}; '
            f'required are {list(REQUIRED_METADATA)}')
    if metadata['unit'] != 'ms':
        raise LatencyTableError(
            f'latency table {source}: unit must be "ms", got '
            f'{metadata["unit"]!r}')
    probe = OpSignature('conv1_1', 1, 1, 1, 1, 1, metadata['batch_size'],
                        metadata['dtype'], metadata['memory_format'])
    try:
        probe.validate()
    except ValueError as err:
        raise LatencyTableError(f'latency table {source}: bad '
                                f'metadata setting ({err})') from None


def check_entry(key: str, entry: Any, source: str) -> Dict[str, Any]:
    """Validate one entry against its key; return a copy."""
    where = f'latency table {source}, entry {key!r}'
    if not isinstance(entry, dict):
        raise LatencyTableError(f'{where}: must be a dict')
    lacking = [f for f in ENTRY_FIELDS if f not in entry]
    if lacking:
        raise LatencyTableError(f'{where}: lacks fields {lacking}')
    try:
        sig = OpSignature.from_key(key)
    except ValueError as err:
        raise LatencyTableError(f'{where}: {err}') from None
    for name, value in sig.to_fields().items():
        if entry[name] != value:
            raise LatencyTableError(
                f'{where}: field {name}={entry[name]!r} disagrees with '
                f'the key ({value!r}); the file was edited '
                'inconsistently')
    mean, std, count = entry['mean'], entry['std'], entry['count']
    if not (isinstance(mean,
                       (int, float)) and math.isfinite(mean) and mean >= 0):
        raise LatencyTableError(f'{where}: mean must be a finite number '
                                f'>= 0 (ms), got {mean!r}')
    if not (isinstance(std, (int, float)) and math.isfinite(std) and std >= 0):
        raise LatencyTableError(f'{where}: std must be a finite number '
                                f'>= 0, got {std!r}')
    if not isinstance(count, int) or count < 1:
        raise LatencyTableError(f'{where}: count must be an int >= 1, '
                                f'got {count!r}')
    return dict(entry)
