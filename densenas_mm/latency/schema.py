"""Schema of the latency-table file: constants, errors, validation.

Version 3 (this code writes it) adds to version 2: the timing backend in
the metadata (``backend``: ``'torch'`` or ``'onnxruntime-cpu'``), the GPU's
name and the cuDNN / TF32 flags as required metadata of a CUDA table, an
upper bound on every entry (:data:`MAX_MS`) and an optional top-level
``calibration`` (:mod:`.calibration`). Version 1 and 2 files still load,
with backend ``'torch'`` and no calibration.

Version 2 entries hold ``latency`` (the value lookups use: a robust
statistic over interleaved rounds for measured tables) and ``count``, and
for measured tables the rounds behind it (``rounds``: per-round medians,
``round_minima``, ``rel_err``, ``noisy``); imported tables keep ``mean`` /
``std`` of the merged reference values. Version 1 entries (``mean``,
``std``, ``count`` of one run of timed calls) are still read: their
``latency`` is their ``mean`` (:data:`V1_LACKS` says what they lack).
"""
import math
from typing import Any, Dict, List, Optional, Tuple

from .signature import OpSignature

SCHEMA = 'densenas_mm.latency_table'
SCHEMA_VERSION = 3
READABLE_VERSIONS = (1, 2, 3)
#: Timing backends a table can be measured with: PyTorch eager, or ONNX
#: Runtime's CPU execution provider (each op exported to ONNX).
BACKENDS = ('torch', 'onnxruntime-cpu')
BACKEND_KEY = 'backend'
#: The GPU's name (``torch.cuda.get_device_name``), required on CUDA tables.
GPU_NAME_KEY = 'gpu_name'
#: Largest latency an entry may hold (ms): a bigger one is a unit or
#: editing error, not a measurement.
MAX_MS = 1e5
REQUIRED_METADATA = ('device', 'batch_size', 'dtype', 'memory_format', 'unit')
#: Optional metadata of a table timed on CUDA: the backend flags that change
#: GPU timings (key -> the torch setting it records; booleans) ...
CUDA_FLAGS = {
    'cudnn_benchmark': 'torch.backends.cudnn.benchmark',
    'cudnn_allow_tf32': 'torch.backends.cudnn.allow_tf32',
    'matmul_allow_tf32': 'torch.backends.cuda.matmul.allow_tf32',
}
#: ... and the back-to-back calls per timed sample (an int >= 1; written on
#: the 'cuda' clock, or where more than 1).
CALLS_KEY = 'calls_per_sample'
KEY_FIELDS = ('op', 'kernel', 'expansion', 'c_in', 'c_out', 'stride', 'h', 'w',
              'batch_size', 'dtype', 'memory_format')
ENTRY_FIELDS = KEY_FIELDS + ('latency', 'count')
V1_ENTRY_FIELDS = KEY_FIELDS + ('mean', 'std', 'count')
V1_LACKS = (
    'it is a schema version 1 table: each entry is the mean of one run of '
    'timed calls, with no interleaved rounds, no robust statistic and no '
    'check that its measurements agree, so how far a rebuild would differ '
    'is unknown (on a shared 2-core CPU two such builds differed by a '
    'median factor of 2.3); rebuild it with tools/build_latency_lut.py')
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


def table_backend(metadata: Dict[str, Any]) -> str:
    """The timing backend of a table (``'torch'`` where not recorded)."""
    return str(metadata.get(BACKEND_KEY, 'torch'))


def unique_keys(source: str):
    """A ``json.load`` ``object_pairs_hook`` that refuses duplicated keys
    (JSON would silently keep the last), naming the key."""

    def hook(pairs: List[Tuple[str, Any]]) -> Dict[str, Any]:
        out: Dict[str, Any] = {}
        for key, value in pairs:
            if key in out:
                raise LatencyTableError(
                    f'latency table {source}: key {key!r} appears twice in '
                    'one object (JSON keeps only the last); delete one of '
                    'them')
            out[key] = value
        return out

    return hook


def check_cuda_identity(metadata: Dict[str, Any], source: str) -> None:
    """A version 3 file of a table timed on CUDA (``device_type``
    ``'cuda'``) must record the GPU's name and the cuDNN / TF32 flags it
    was timed with: they are part of its identity.

    Raises:
        LatencyTableError: Naming the missing keys.
    """
    if metadata.get('device_type') != 'cuda':
        return
    lacking = [
        k for k in (GPU_NAME_KEY, ) + tuple(CUDA_FLAGS) if k not in metadata
    ]
    if lacking:
        raise LatencyTableError(
            f'latency table {source}: a CUDA table (schema version 3) must '
            f'record {lacking} (the GPU and the cuDNN / TF32 flags change '
            'GPU latency); rebuild it with tools/build_latency_lut.py '
            '--device cuda')


def check_metadata(metadata: Dict[str, Any], source: str) -> None:
    """Raise :class:`LatencyTableError` for missing or invalid metadata
    (a recorded ``backend`` must be one of :data:`BACKENDS`, ONNX
    Runtime's only on the CPU)."""
    lacking = [k for k in REQUIRED_METADATA if k not in metadata]
    if lacking:
        raise LatencyTableError(
            f'latency table {source}: metadata lacks {lacking}; '
            f'required are {list(REQUIRED_METADATA)}')
    if metadata['unit'] != 'ms':
        raise LatencyTableError(
            f'latency table {source}: unit must be "ms", got '
            f'{metadata["unit"]!r}')
    for key in CUDA_FLAGS:
        if key in metadata and not isinstance(metadata[key], bool):
            raise LatencyTableError(
                f'latency table {source}: metadata {key!r} must be true or '
                f'false (the {CUDA_FLAGS[key]} setting it was timed with), '
                f'got {metadata[key]!r}; fix or delete the key')
    backend = metadata.get(BACKEND_KEY, 'torch')
    if backend not in BACKENDS:
        raise LatencyTableError(
            f'latency table {source}: metadata {BACKEND_KEY!r} must be one of '
            f'{list(BACKENDS)} (the runtime the entries were timed with), '
            f'got {backend!r}')
    if backend != 'torch' and metadata.get('device_type') == 'cuda':
        raise LatencyTableError(
            f'latency table {source}: backend {backend!r} times on the CPU '
            'but device_type is cuda; the file was edited inconsistently')
    calls = metadata.get(CALLS_KEY, 1)
    if isinstance(calls, bool) or not isinstance(calls, int) or calls < 1:
        raise LatencyTableError(
            f'latency table {source}: metadata {CALLS_KEY!r} must be an '
            f'integer >= 1 (calls per timed sample), got {calls!r}')
    probe = OpSignature('conv1_1', 1, 1, 1, 1, 1, metadata['batch_size'],
                        metadata['dtype'], metadata['memory_format'])
    try:
        probe.validate()
    except ValueError as err:
        raise LatencyTableError(f'latency table {source}: bad '
                                f'metadata setting ({err})') from None


def flag_messages(metadata: Dict[str, Any], source: str,
                  flags: Dict[str, bool]) -> List[str]:
    """One message per CUDA flag of ``flags`` that differs from the one a
    table recorded in ``metadata`` (flags it did not record are not
    compared)."""
    msgs = []
    for key, where in CUDA_FLAGS.items():
        mine = metadata.get(key)
        if mine is None or key not in flags or bool(flags[key]) == bool(mine):
            continue
        msgs.append(
            f'latency table {source} was timed with {where} = '
            f'{bool(mine)} but this run has {bool(flags[key])}: cuDNN '
            'algorithms and TF32 change GPU latency, so the predicted '
            f'latencies describe the table\'s flags. Set {where} = '
            f'{bool(mine)} before the search, or rebuild the table with '
            'tools/build_latency_lut.py under this run\'s flags.')
    return msgs


def _ms(value: Any) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value) and 0 <= value < MAX_MS)


def _check_rounds(entry: Dict[str, Any], where: str) -> None:
    for name in ('rounds', 'round_minima'):
        if name in entry and not (isinstance(entry[name], list) and entry[name]
                                  and all(_ms(v) for v in entry[name])):
            raise LatencyTableError(
                f'{where}: {name} must be a non-empty list of finite '
                f'numbers in [0, {MAX_MS:g}) ms, got {entry[name]!r}')
    if ('rounds' in entry) != ('round_minima' in entry) or len(
            entry.get('rounds', ())) != len(entry.get('round_minima', ())):
        raise LatencyTableError(
            f'{where}: rounds and round_minima must be given together, one '
            'value per round each')
    if entry.get('rel_err') is not None and not _ms(entry['rel_err']):
        raise LatencyTableError(f'{where}: rel_err must be null or a finite '
                                f'number >= 0, got {entry["rel_err"]!r}')
    if not isinstance(entry.get('noisy', False), bool):
        raise LatencyTableError(f'{where}: noisy must be true or false, got '
                                f'{entry["noisy"]!r}')


def check_entry(key: str,
                entry: Any,
                source: str,
                version: int = SCHEMA_VERSION) -> Dict[str, Any]:
    """Validate one entry against its key; return a (current version) copy.

    ``latency`` must be finite, positive and below :data:`MAX_MS`.

    A version 1 entry gets ``latency`` = its ``mean``.
    """
    where = f'latency table {source}, entry {key!r}'
    if not isinstance(entry, dict):
        raise LatencyTableError(f'{where}: must be a dict')
    fields = V1_ENTRY_FIELDS if version == 1 else ENTRY_FIELDS
    lacking = [f for f in fields if f not in entry]
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
    for name in ('latency', 'mean', 'std'):
        if name in entry and not _ms(entry[name]):
            raise LatencyTableError(f'{where}: {name} must be a finite '
                                    f'number in [0, {MAX_MS:g}) ms, got '
                                    f'{entry[name]!r}')
    if entry.get('latency', entry.get('mean')) == 0:
        raise LatencyTableError(
            f'{where}: latency is 0; a measured op takes a positive time '
            '(delete the entry to have it measured again)')
    count = entry['count']
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise LatencyTableError(f'{where}: count must be an int >= 1, '
                                f'got {count!r}')
    _check_rounds(entry, where)
    out = dict(entry)
    if version == 1:
        out['latency'] = out['mean']
    return out
