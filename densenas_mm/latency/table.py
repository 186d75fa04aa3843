"""The latency lookup table: a versioned, keyed JSON file.

Layout (see ``docs/latency.md``)::

    {"schema": "densenas_mm.latency_table", "version": 3, "complete": true,
     "metadata": {"device": ..., "batch_size": 32, "dtype": "float32",
                  "memory_format": "contiguous", "unit": "ms", ...,
                  "quality": {"status": "ok", "reason": ..., ...}, ...},
     "entries": {"mbconv_k3_t6|c16-24|s2|r112x112|b32|float32|contiguous":
                     {"op": ..., "kernel": 3, "expansion": 6, "c_in": 16,
                      "c_out": 24, "stride": 2, "h": 112, "w": 112,
                      "batch_size": 32, ..., "latency": 1.23, "count": 40,
                      "rounds": [1.22, ...], "round_minima": [...],
                      "rel_err": 0.01, "noisy": false}, ...},
     "calibration": null | {"scale": 1.15, "per_op": 0.02, ...}}

Loading validates every entry against its key (versions 1-2 read too).
Lookups are made with the table's own setting (batch size, dtype,
memory format), so a table from another setting still serves, with a clear
warning (:meth:`check_target`; for a GPU table also when the run's cuDNN /
TF32 flags differ). :meth:`check_quality` refuses a table marked noisy
unless allowed. A version 3 table may carry a whole-net
:class:`~.calibration.Calibration` (``latency(sig, calibrated=True)``).
"""
import copy
import os
import warnings
from typing import Any, Dict, Iterable, List, Mapping, Optional

import torch
from mmengine.logging import print_log

from densenas_mm.utils.io import dump_json_atomic
from densenas_mm.utils.rounds import DEFAULT_STATISTIC, RoundStats
from .calibration import Calibration
from .measure import cuda_flags
from .table_io import parse_table, read_table_json
from .quality import (NOISY, OVERRIDE_HINT, REBUILD_HINT, UNCHECKED,
                      TableQuality, table_quality)
from .schema import (BUILD_HINT, SCHEMA, SCHEMA_VERSION, LatencyTableError,
                     LatencyTableWarning, check_entry, check_metadata,
                     flag_messages, table_backend)
from .signature import OpSignature


class LatencyTable:
    """Measured latency (ms) per op signature.

    Args:
        metadata (dict): Device, versions, setting, measurement settings.
            Must hold at least :data:`REQUIRED_METADATA`.
        entries (dict, optional): Key -> entry dict.
        complete (bool): False for a partial (interrupted) build.
        source (str): Where the table came from, for messages.
        version (int): Schema version the entries were written in (1 to
            3; saving always writes the current version).
        calibration (Calibration, optional): Whole-net calibration of the
            entries (:mod:`.calibration`).
    """

    def __init__(self,
                 metadata: Dict[str, Any],
                 entries: Optional[Dict[str, Dict[str, Any]]] = None,
                 complete: bool = True,
                 source: str = '<memory>',
                 version: int = SCHEMA_VERSION,
                 calibration: Optional[Calibration] = None) -> None:
        self.metadata = dict(metadata)
        self.entries: Dict[str, Dict[str, Any]] = {}
        self.complete = complete
        self.source = source
        self.version = version
        self.calibration = calibration
        check_metadata(self.metadata, source)
        for key, entry in (entries or {}).items():
            self.entries[key] = check_entry(key, entry, source, version)

    # ------------------------------------------------------------ setting
    @property
    def batch_size(self) -> int:
        """Batch size every lookup uses."""
        return int(self.metadata['batch_size'])

    @property
    def dtype(self) -> str:
        """Dtype every lookup uses."""
        return str(self.metadata['dtype'])

    @property
    def memory_format(self) -> str:
        """Memory format every lookup uses."""
        return str(self.metadata['memory_format'])

    @property
    def backend(self) -> str:
        """Timing backend of the entries (``'torch'`` or
        ``'onnxruntime-cpu'``)."""
        return table_backend(self.metadata)

    @property
    def device(self) -> str:
        """Name of the device the table was measured on."""
        return str(self.metadata['device'])

    def localize(self, sig: OpSignature) -> OpSignature:
        """``sig`` with this table's batch size, dtype and memory format."""
        return sig.with_setting(self.batch_size, self.dtype,
                                self.memory_format)

    # ------------------------------------------------------------ queries
    def __len__(self) -> int:
        return len(self.entries)

    def __contains__(self, sig: OpSignature) -> bool:
        return self.localize(sig).key in self.entries

    def entry(self, sig: OpSignature) -> Dict[str, Any]:
        """The entry of ``sig`` (in this table's setting).

        Raises:
            LatencyTableError: Naming the key and how to build it.
        """
        key = self.localize(sig).key
        if key not in self.entries:
            raise LatencyTableError(
                f'latency table {self.source} has no entry {key!r}; '
                f'{BUILD_HINT}', [key])
        return self.entries[key]

    def latency(self, sig: OpSignature, calibrated: bool = False) -> float:
        """Latency of ``sig`` in ms (the entry's ``latency``: the table's
        robust statistic of its rounds).

        Skip costs its entry when the table has one (the reference's tables
        measured it: about 0.004 ms per layer on TITAN-Xp), 0 otherwise
        (the tables built here do not measure it). With ``calibrated`` and
        a calibration, the calibrated cost of the op
        (:meth:`~.calibration.Calibration.op_cost`; skip: 0).
        """
        cal = self.calibration if calibrated else None
        if sig.is_skip and (cal is not None or sig not in self):
            return 0.0
        value = float(self.entry(sig)['latency'])
        return value if cal is None else cal.op_cost(value)

    def net_constant(self, calibrated: bool = False) -> float:
        """Milliseconds a net costs once, beyond its ops (the calibration's
        ``constant``; 0 uncalibrated)."""
        if not calibrated or self.calibration is None:
            return 0.0
        return self.calibration.constant

    def round_stats(self,
                    key: str,
                    statistic: Optional[str] = None) -> Optional[RoundStats]:
        """The rounds of entry ``key`` (None for an entry without rounds).

        Args:
            key (str): Entry key.
            statistic (str, optional): Statistic to evaluate them with;
                defaults to the table's (``metadata['statistic']``).
        """
        entry = self.entries[key]
        if 'rounds' not in entry:
            return None
        return RoundStats(
            tuple(entry['rounds']), tuple(entry['round_minima']),
            entry['count'], statistic
            or self.metadata.get('statistic', DEFAULT_STATISTIC))

    @property
    def quality(self) -> TableQuality:
        """The table's noise verdict (see :mod:`.quality`)."""
        return table_quality(self.metadata, self.complete, self.version)

    def check_quality(self, allow_noisy: bool = False) -> TableQuality:
        """Refuse a table marked noisy; state what an unchecked one lacks.

        Args:
            allow_noisy (bool): Use a noisy table anyway (with a
                :class:`LatencyTableWarning` giving the reason).

        Returns:
            TableQuality: The verdict.

        Raises:
            LatencyTableError: For a noisy table unless ``allow_noisy``,
                with the reason and what to do.
        """
        quality = self.quality
        if quality.status == NOISY:
            msg = (f'latency table {self.source} is marked noisy: '
                   f'{quality.reason}')
            if not allow_noisy:
                raise LatencyTableError(f'{msg}. To fix it, {REBUILD_HINT};'
                                        f' {OVERRIDE_HINT}')
            warnings.warn(
                f'{msg}; used anyway (allow_noisy_lut=True)',
                LatencyTableWarning,
                stacklevel=2)
        elif quality.status == UNCHECKED:
            print_log(
                f'latency table {self.source}: noise not checked, because '
                f'{quality.reason}',
                logger='current')
        return quality

    def missing(self, sigs: Iterable[OpSignature]) -> List[str]:
        """Keys of the (non-skip) ``sigs`` this table lacks, in order."""
        out: List[str] = []
        for sig in sigs:
            key = self.localize(sig).key
            if not sig.is_skip and key not in self.entries and key not in out:
                out.append(key)
        return out

    def require(self,
                sigs: Iterable[OpSignature],
                what: str,
                show: int = 20) -> None:
        """Raise unless every signature in ``sigs`` has an entry.

        Args:
            sigs (Iterable[OpSignature]): Needed signatures.
            what (str): What needs them, e.g. ``"space 'densenas_demo_32'"``.
            show (int): How many missing keys the message lists.

        Raises:
            LatencyTableError: Naming the missing keys (all of them in its
                ``missing`` attribute) and how to build them.
        """
        sigs = list(sigs)
        missing = self.missing(sigs)
        if not missing:
            return
        listed = ', '.join(missing[:show])
        more = (f' and {len(missing) - show} more'
                if len(missing) > show else '')
        partial = ('' if self.complete else
                   ' (the table is a partial, interrupted build)')
        raise LatencyTableError(
            f'latency table {self.source}{partial} (device {self.device!r}, '
            f'batch {self.batch_size}) lacks {len(missing)} of '
            f'{len(set(self.localize(s).key for s in sigs if not s.is_skip))}'
            f' entries that {what} needs: {listed}{more}. To fix it, '
            f'{BUILD_HINT}', missing)

    def check_target(self,
                     device: Optional[str] = None,
                     batch_size: Optional[int] = None,
                     dtype: Optional[str] = None,
                     memory_format: Optional[str] = None,
                     warn: bool = True,
                     flags: Optional[Mapping[str, bool]] = None) -> List[str]:
        """Say where the table describes another setting than the target.

        Lookups always use the table's own setting (its entries), so a
        mismatch does not fail a lookup; it means the predicted latencies
        describe the table's setting, not the target's.

        Args:
            device (str, optional): Name of the device the costs are meant
                for (e.g. from :func:`.measure.device_name`). For a table
                that recorded CUDA flags (a GPU table), checking the device
                on a machine with CUDA also compares the flags in effect
                (:func:`.measure.cuda_flags`) unless ``flags`` are given.
            batch_size (int, optional): Batch size the costs are meant for.
            dtype (str, optional): Dtype of the run (``'float32'``,
                ``'bfloat16'``, ...).
            memory_format (str, optional): ``'contiguous'`` or
                ``'channels_last'``.
            warn (bool): Also issue each message as a
                :class:`LatencyTableWarning`.
            flags (Mapping, optional): The run's CUDA flags under the keys
                of :data:`.schema.CUDA_FLAGS` (``cudnn_benchmark``, ...);
                compared with the table's where both have them.

        Returns:
            list[str]: One message per differing field (None = unchecked).
        """
        msgs = []
        if (flags is None and device is not None
                and self.metadata.get('device_type') == 'cuda'
                and torch.cuda.is_available()):
            flags = cuda_flags()
        msgs += flag_messages(self.metadata, self.source, flags or {})
        if device is not None and device != self.device:
            msgs.append(
                f'latency table {self.source} was measured on {self.device!r}'
                f' but is used for {device!r}: predicted latencies describe '
                'the table\'s device. Build a table on this device with '
                'tools/build_latency_lut.py if you want its latency.')
        fix = {
            'batch_size': f'--batch-size {batch_size}',
            'dtype': f'--dtype {dtype}',
            'memory_format': ('--channels-last' if memory_format ==
                              'channels_last' else 'without --channels-last')
        }
        wanted = dict(
            batch_size=None if batch_size is None else int(batch_size),
            dtype=None if dtype is None else str(dtype),
            memory_format=memory_format)
        phrase = dict(
            batch_size=lambda v: f'batch size {v}',
            dtype=lambda v: f'dtype {v}',
            memory_format=lambda v: f'memory format {v}')
        for key, value in wanted.items():
            mine = getattr(self, key)
            if value is not None and value != mine:
                msgs.append(
                    f'latency table {self.source} was measured at '
                    f'{phrase[key](mine)} but is used for '
                    f'{phrase[key](value)}: per-op latency does not carry '
                    'over between settings. Rebuild it with '
                    f'tools/build_latency_lut.py {fix[key]}, or set the '
                    f'estimator\'s {key}={mine!r} if the costs are meant '
                    'for the table\'s setting.')
        if warn:
            for msg in msgs:
                warnings.warn(msg, LatencyTableWarning, stacklevel=2)
        return msgs

    # ------------------------------------------------------------ editing
    def add(self, sig: OpSignature, mean: float, std: float,
            count: int) -> None:
        """Add (or replace) an entry without rounds (imported or synthetic):
        ``latency`` = ``mean``. ``sig`` must match the table's setting."""
        self._check_setting(sig)
        entry = dict(
            sig.to_fields(),
            latency=float(mean),
            mean=float(mean),
            std=float(std),
            count=int(count))
        self.entries[sig.key] = check_entry(sig.key, entry, self.source)

    def add_rounds(self, sig: OpSignature, stats: RoundStats,
                   tolerance: float) -> None:
        """Add (or replace) the measured entry of ``sig`` from its rounds.

        ``latency`` is the rounds' statistic; the entry is ``noisy`` unless
        the rounds agree within ``tolerance``
        (:meth:`~densenas_mm.utils.rounds.RoundStats.agrees`).
        """
        self._check_setting(sig)
        entry = dict(
            sig.to_fields(),
            latency=float(stats.value),
            count=int(stats.count),
            rounds=[float(v) for v in stats.medians],
            round_minima=[float(v) for v in stats.minima],
            rel_err=stats.rel_err,
            noisy=not stats.agrees(tolerance))
        self.entries[sig.key] = check_entry(sig.key, entry, self.source)

    def _check_setting(self, sig: OpSignature) -> None:
        if self.localize(sig) != sig:
            raise LatencyTableError(
                f'{sig.key} does not match the table setting (batch '
                f'{self.batch_size}, {self.dtype}, {self.memory_format})')

    def with_calibration(self,
                         calibration: Optional[Calibration]) -> 'LatencyTable':
        """A copy of the table (entries and metadata copied) with another
        calibration; ``self`` is left as it is."""
        return LatencyTable(copy.deepcopy(self.metadata),
                            {k: dict(e) for k, e in self.entries.items()},
                            self.complete, self.source, self.version,
                            calibration)

    # ------------------------------------------------------------- file IO
    def to_dict(self) -> Dict[str, Any]:
        """The JSON content (current schema version; a table read from
        version 1 records that in ``metadata['upgraded_from_version']``)."""
        metadata = copy.deepcopy(self.metadata)
        if self.version != SCHEMA_VERSION:
            metadata['upgraded_from_version'] = self.version
        return dict(
            schema=SCHEMA,
            version=SCHEMA_VERSION,
            complete=self.complete,
            metadata=metadata,
            entries={k: dict(self.entries[k])
                     for k in sorted(self.entries)},
            calibration=None
            if self.calibration is None else self.calibration.to_dict())

    def save(self, path: str) -> None:
        """Write the table atomically."""
        dump_json_atomic(self.to_dict(), path)

    @classmethod
    def from_dict(cls, data: Any, source: str = '<dict>') -> 'LatencyTable':
        """Validate and build a table from its JSON content.

        Raises:
            LatencyTableError: Saying what is wrong.
        """
        parts = parse_table(data, source)
        return cls(parts.metadata, parts.entries, parts.complete, source,
                   parts.version, parts.calibration)

    @classmethod
    def load(cls, path: str) -> 'LatencyTable':
        """Load and validate the table at ``path`` (a key given twice in
        one object is refused)."""
        path = os.fspath(path)
        return cls.from_dict(read_table_json(path), source=path)
