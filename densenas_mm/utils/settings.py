"""Grouped settings from flat keyword arguments.

A wide function or class groups its options into small frozen dataclasses
(the latency-table build, the cost estimator), while configs and callers
keep writing them as flat keywords (``target_device=None``,
``max_repeats=50``). :func:`flat_keys` names where each flat keyword goes
and :func:`group_settings` builds the dataclasses from grouped values
(dataclass or dict) and flat keywords, refusing unknown and doubly given
ones with a message that says what is accepted.
"""
from dataclasses import fields
from typing import Any, Dict, Mapping, Optional, Tuple

#: Flat keyword -> (group, field of the group's dataclass).
FlatKeys = Dict[str, Tuple[str, str]]


def flat_keys(groups: Mapping[str, type],
              renames: Optional[Mapping[str, Tuple[str, str]]] = None
              ) -> FlatKeys:
    """Where each flat keyword goes: a field's own name, unless ``renames``
    gives it another flat name.

    Args:
        groups (Mapping): Group name -> settings dataclass.
        renames (Mapping, optional): Flat keyword -> ``(group, field)`` for
            fields whose flat name differs from the field name.

    Returns:
        dict: Flat keyword -> ``(group, field)``.

    Raises:
        ValueError: For a field name in two groups without a rename, or a
            rename of a field that does not exist.
    """
    renames = dict(renames or {})
    renamed = set(renames.values())
    out: FlatKeys = {}
    for group, cls in groups.items():
        names = {f.name for f in fields(cls)}
        for key, (g, name) in renames.items():
            if g == group and name not in names:
                raise ValueError(f'rename {key!r}: {cls.__name__} has no '
                                 f'field {name!r}')
        for name in sorted(names):
            if (group, name) in renamed:
                continue
            if name in out:
                raise ValueError(f'field {name!r} is in groups '
                                 f'{out[name][0]!r} and {group!r}; rename '
                                 'one')
            out[name] = (group, name)
    out.update(renames)
    return out


def group_settings(owner: str, groups: Mapping[str, type],
                   given: Mapping[str, Any], flat: Mapping[str, Any],
                   keys: FlatKeys) -> Dict[str, Any]:
    """Build each group's dataclass from its grouped value and the flat
    keywords.

    Args:
        owner (str): Who takes the arguments (for messages).
        groups (Mapping): Group name -> settings dataclass.
        given (Mapping): Group name -> the grouped value: an instance, a
            dict of its fields, or None.
        flat (Mapping): Flat keywords.
        keys (dict): :func:`flat_keys` of ``groups``.

    Returns:
        dict: Group name -> dataclass instance.

    Raises:
        TypeError: For an unknown flat keyword, an unknown field of a
            grouped dict, a grouped value of another type, or a field given
            both grouped and flat.
    """
    unknown = sorted(set(flat) - set(keys))
    if unknown:
        raise TypeError(
            f'{owner} got unexpected argument(s) {unknown}; it takes '
            f'{sorted(groups)} (grouped) or the flat keywords '
            f'{sorted(keys)}')
    out = {}
    for group, cls in groups.items():
        value = given.get(group)
        if isinstance(value, cls):
            value = {f.name: getattr(value, f.name) for f in fields(cls)}
        elif value is not None and not isinstance(value, Mapping):
            raise TypeError(f'{owner}: {group} must be a {cls.__name__} or '
                            f'a dict of its fields, got '
                            f'{type(value).__name__}')
        value = dict(value or {})
        names = {f.name for f in fields(cls)}
        if set(value) - names:
            raise TypeError(f'{owner}: {group} has unknown field(s) '
                            f'{sorted(set(value) - names)}; fields: '
                            f'{sorted(names)}')
        for key, arg in flat.items():
            g, name = keys[key]
            if g != group:
                continue
            if name in value:
                raise TypeError(f'{owner}: {key} is given both as a keyword '
                                f'and as {group}.{name}; give it once')
            value[name] = arg
        out[group] = cls(**value)
    return out
