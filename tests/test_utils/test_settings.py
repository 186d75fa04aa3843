"""Grouped settings from flat keywords (densenas_mm.utils.settings)."""
from dataclasses import dataclass

import pytest

from densenas_mm.utils.settings import flat_keys, group_settings


@dataclass(frozen=True)
class A:
    x: int = 1
    y: str = 'a'


@dataclass(frozen=True)
class B:
    y: int = 2
    z: bool = False


def test_flat_keys_and_renames():
    keys = flat_keys(dict(a=A, b=B), dict(b_y=('b', 'y')))
    assert keys == dict(x=('a', 'x'), y=('a', 'y'), z=('b', 'z'),
                        b_y=('b', 'y'))
    with pytest.raises(ValueError, match="field 'y' is in groups 'a' and"):
        flat_keys(dict(a=A, b=B))
    with pytest.raises(ValueError, match='B has no field'):
        flat_keys(dict(a=A, b=B), dict(b_y=('b', 'w')))


def test_group_settings_merges_grouped_and_flat():
    groups = dict(a=A, b=B)
    keys = flat_keys(groups, dict(b_y=('b', 'y')))
    got = group_settings('f', groups, dict(a=dict(x=5), b=dict(z=True)),
                         dict(y='q', b_y=7), keys)
    assert got == dict(a=A(5, 'q'), b=B(7, True))
    assert group_settings('f', groups, {}, {}, keys) == dict(a=A(), b=B())
    # an instance gives every field of its group
    assert group_settings('f', groups, dict(a=A(x=5)), {}, keys)['a'] == A(5)
    with pytest.raises(TypeError, match=r"f got unexpected argument\(s\) "):
        group_settings('f', groups, {}, dict(w=1), keys)
    with pytest.raises(TypeError, match='x is given both'):
        group_settings('f', groups, dict(a=A()), dict(x=2), keys)
    with pytest.raises(TypeError, match='b must be a B or a dict'):
        group_settings('f', groups, dict(b=[1]), {}, keys)
