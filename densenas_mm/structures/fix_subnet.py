"""Architecture files as mmrazor ``fix_subnet`` dicts, read and written as
plain YAML.

mmrazor's ``sub_model(cfg, fix_subnet=...)`` and ``load_fix_subnet`` read a
``fix_subnet`` given as a path with mmengine's YAML loader, which builds
Python objects from tags (``!!python/object/apply:os.system [...]`` runs a
command), and ``export_fix_subnet`` returns ``DumpChosen`` tuples, which
``mmengine.dump`` writes with such tags. The safe route is a dict:

- :func:`load_fix_subnet_dict` reads an architecture file (or mmrazor's
  converted export) with the project's safe reader, validates it and
  returns plain dicts for ``sub_model(fix_subnet=dict)`` /
  ``load_fix_subnet(model, dict)``;
- :func:`fix_subnet_to_dict` / :func:`dump_fix_subnet` turn
  ``export_fix_subnet``'s result into plain ``{alias: {chosen, meta}}``
  and write it with ``yaml.safe_dump`` (no tag can be written).
"""
from typing import Any, Dict

from .derived_arch import ARCH_KEY, DerivedArch, read_arch_dict
from .errors import ArchError

_PLAIN = (str, int, float, bool, type(None))


def _plain(value: Any, where: str) -> Any:
    """``value`` as plain dicts / lists / scalars, or ArchError."""
    if isinstance(value, _PLAIN):
        return value
    if hasattr(value, '_asdict'):  # NamedTuples such as DumpChosen
        value = dict(value._asdict())
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ArchError(f'{where}: key {key!r} is not a string')
            out[key] = _plain(item, f'{where}.{key}')
        return out
    if isinstance(value, (list, tuple)):
        return [_plain(item, f'{where}[{i}]') for i, item in enumerate(value)]
    raise ArchError(f'{where}: {type(value).__name__} is not plain data '
                    '(mappings, lists, strings, numbers)')


def fix_subnet_to_dict(fix_subnet: Dict[str, Any]) -> Dict[str, Any]:
    """``export_fix_subnet``'s ``{alias: DumpChosen}`` as plain
    ``{alias: {'chosen': ..., 'meta': ...}}`` (what ``load_fix_subnet``
    takes back).

    Raises:
        ArchError: For an entry without ``chosen`` or with non-plain data.
    """
    out = {}
    for alias, entry in fix_subnet.items():
        entry = _plain(entry, str(alias))
        if not isinstance(entry, dict) or 'chosen' not in entry:
            raise ArchError(f'fix_subnet entry {alias!r} must be a DumpChosen '
                            f'or a mapping with "chosen", got {entry!r}')
        out[str(alias)] = entry
    return out


def dump_fix_subnet(fix_subnet: Dict[str, Any], path: str) -> None:
    """Write ``export_fix_subnet``'s result as plain YAML, atomically.

    Use this instead of ``mmengine.dump(fix_subnet, path)``, which writes
    ``!!python/object/new:...DumpChosen`` tags that only an unsafe loader
    reads.
    """
    from densenas_mm.utils.io import dump_yaml_atomic
    dump_yaml_atomic(fix_subnet_to_dict(fix_subnet), path)


def load_fix_subnet_dict(source: Any) -> Dict[str, Any]:
    """A ``fix_subnet`` dict for mmrazor, read without running code.

    Args:
        source: An architecture file written by the search (``arch/*.yaml``,
            validated as a :class:`DerivedArch`), a file of only
            ``{alias: {chosen: ...}}`` entries (:func:`dump_fix_subnet`'s or
            mmrazor's converted export), a :class:`DerivedArch` or a dict.

    Returns:
        dict: ``{alias: {'chosen': ...}, ...}`` (plus the ``densenas_arch``
        section for an architecture file, which mmrazor ignores), for
        ``sub_model(cfg, fix_subnet=dict)`` or ``load_fix_subnet(model,
        dict)``.

    Raises:
        ArchError: For an unsafe, oversized, too deep, invalid or
            inconsistent file, naming it.
    """
    if isinstance(source, DerivedArch):
        return source.to_dict()
    where = 'fix_subnet'
    if isinstance(source, dict):
        data = source
    else:
        where = str(source)
        data = read_arch_dict(where)
    if ARCH_KEY in data:
        try:
            return DerivedArch.from_dict(data).to_dict()
        except ArchError as err:
            raise ArchError(f'{where}: {err}') from None
    if not data:
        raise ArchError(f'{where}: no fix_subnet entries')
    out = {}
    for alias, entry in data.items():
        if not isinstance(entry, dict) or 'chosen' not in entry:
            raise ArchError(
                f'{where}: entry {alias!r} must be a mapping with "chosen" '
                f'(alias: {{chosen: OP}}), got {entry!r}; pass an '
                'architecture file of the search or a dump_fix_subnet file')
        out[str(alias)] = dict(_plain(entry, f'{where}: {alias}'))
    return out
