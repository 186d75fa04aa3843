"""Reading a latency-table file: JSON without duplicated keys, the
top-level layout, the schema version and the calibration."""
import json
import logging
import os
from dataclasses import dataclass
from typing import Any, Dict, Optional

from mmengine.logging import print_log

from densenas_mm.utils.io import directory_given

from .calibration import Calibration
from .schema import (BUILD_HINT, READABLE_VERSIONS, SCHEMA, LatencyTableError,
                     check_cuda_identity, check_metadata, unique_keys)


@dataclass
class TableParts:
    """The top-level parts of a table file (entries not yet validated)."""
    metadata: Dict[str, Any]
    entries: Dict[str, Any]
    complete: bool
    version: int
    calibration: Optional[Calibration]


def read_table_json(path: str) -> Any:
    """The JSON content of the table file at ``path``.

    Raises:
        LatencyTableError: For a missing file, invalid JSON or a key given
            twice in one object (naming it).
    """
    given_dir = directory_given(path, 'latency table', '.json')
    if given_dir:
        raise LatencyTableError(given_dir)
    if not os.path.isfile(path):
        raise LatencyTableError(
            f'latency table {path!r} does not exist; {BUILD_HINT}, or '
            'import the paper\'s table with '
            'tools/analysis/import_reference_lut.py')
    with open(path, encoding='utf-8') as f:
        try:
            return json.load(f, object_pairs_hook=unique_keys(path))
        except json.JSONDecodeError as err:
            raise LatencyTableError(f'{path}: not valid JSON ({err}); '
                                    'rebuild the table') from None
        except RecursionError:
            raise LatencyTableError(
                f'{path}: nested too deeply to read (a latency table is a '
                'few levels deep); the file is damaged or not a table: '
                'rebuild it') from None


def parse_table(data: Any, source: str) -> TableParts:
    """Check the layout and version of a table's JSON content.

    A version 1 or 2 table has no calibration: it loads uncalibrated and
    says so once, at info level. A version 3 CUDA table must record its
    GPU and cuDNN / TF32 flags (:func:`~.schema.check_cuda_identity`).

    Raises:
        LatencyTableError: Saying what is wrong.
    """
    if not isinstance(data, dict) or data.get('schema') != SCHEMA:
        raise LatencyTableError(
            f'{source} is not a densenas_mm latency table (schema '
            f'{SCHEMA!r} expected). Reference positional lists are '
            'converted with tools/analysis/import_reference_lut.py; new '
            'tables are built with tools/build_latency_lut.py')
    version = data.get('version')
    if version not in READABLE_VERSIONS:
        raise LatencyTableError(
            f'{source}: table schema version {version!r} is not '
            f'supported (this code reads versions {READABLE_VERSIONS}); '
            'rebuild it with tools/build_latency_lut.py')
    if not isinstance(data.get('metadata'), dict) or not isinstance(
            data.get('entries'), dict):
        raise LatencyTableError(f'{source}: needs "metadata" and '
                                '"entries" objects')
    calibration = data.get('calibration')
    if version < 3:
        print_log(
            f'latency table {source} is schema version {version}: it has no '
            'whole-net calibration, so its predictions are uncalibrated '
            'per-op sums (calibrate it with '
            'tools/analysis/calibrate_latency.py)',
            logger='current',
            level=logging.INFO)
        calibration = None
    else:
        check_metadata(data['metadata'], source)
        check_cuda_identity(data['metadata'], source)
        if calibration is not None:
            calibration = Calibration.from_dict(calibration, source)
    return TableParts(data['metadata'], data['entries'],
                      bool(data.get('complete', True)), version, calibration)
