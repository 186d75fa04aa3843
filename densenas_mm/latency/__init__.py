"""Latency lookup tables: keys, format, builder, reference importer, audit.

See ``docs/latency.md`` for the file format and the workflow.
"""
from .analytic import op_flops_params, signature_flops, signature_params
from .audit import AuditRow, audit_arch, format_audit
from .builder import (BuildReport, build_latency_table, find_search_space,
                      measure_signature)
from .measure import (current_device_name, device_name, environment,
                      time_module)
from .modules import build_arch_net, build_module
from .needs import SpaceOps, arch_parts, space_ops
from .reference import (REFERENCE_TABLES, ImportReport, import_reference,
                        parse_reference)
from .signature import CLASSIFIER, KEY_FORM, OpSignature, stem_op_name
from .table import (SCHEMA, SCHEMA_VERSION, LatencyTable, LatencyTableError,
                    LatencyTableWarning)

__all__ = [
    'OpSignature', 'KEY_FORM', 'CLASSIFIER', 'stem_op_name', 'SpaceOps',
    'space_ops', 'arch_parts', 'LatencyTable', 'LatencyTableError',
    'LatencyTableWarning', 'SCHEMA', 'SCHEMA_VERSION', 'op_flops_params',
    'signature_flops', 'signature_params', 'build_module', 'build_arch_net',
    'time_module', 'device_name', 'current_device_name', 'environment',
    'build_latency_table', 'BuildReport', 'find_search_space',
    'measure_signature', 'import_reference', 'parse_reference', 'ImportReport',
    'REFERENCE_TABLES', 'audit_arch', 'AuditRow', 'format_audit'
]
