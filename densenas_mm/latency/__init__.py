"""Latency lookup tables: keys, format, builder, reference importer.

See ``docs/latency.md`` for the file format and the workflow.
"""
from .build_settings import BuildOptions, RoundSettings, TableSetting
from .builder import BuildReport, build_latency_table, measure_signatures
from .measure import (current_device_name, device_name, environment,
                      resolve_clock, time_module, time_modules)
from .modules import build_module, make_input, prepare
from .needs import SpaceOps, arch_parts, space_ops
from .paths import LATENCY_DIR, device_tag, table_path
from .quality import TableQuality
from .reference import (REFERENCE_TABLES, ImportReport, import_reference,
                        parse_reference)
from .signature import KEY_FORM, OpSignature
from .table import (SCHEMA, SCHEMA_VERSION, LatencyTable, LatencyTableError,
                    LatencyTableWarning)

__all__ = [
    'OpSignature', 'KEY_FORM', 'SpaceOps', 'space_ops', 'arch_parts',
    'LatencyTable', 'LatencyTableError', 'LatencyTableWarning', 'SCHEMA',
    'SCHEMA_VERSION', 'build_module', 'make_input', 'prepare', 'time_module',
    'time_modules', 'resolve_clock', 'device_name', 'current_device_name',
    'environment', 'build_latency_table', 'BuildReport', 'measure_signatures',
    'TableSetting', 'RoundSettings', 'BuildOptions',
    'TableQuality', 'import_reference', 'parse_reference', 'ImportReport',
    'REFERENCE_TABLES', 'LATENCY_DIR', 'device_tag', 'table_path'
]
