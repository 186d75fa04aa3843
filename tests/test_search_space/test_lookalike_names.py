"""Op and alias names with look-alike Unicode characters (issue 25): the
refusal shows the code points and the closest valid name, since the name
printed looks identical to a valid one."""
import pytest
import yaml

from densenas_mm.search_space import SpaceGraph, load_preset
from densenas_mm.search_space.grammar import parse_op, unicode_hint
from densenas_mm.search_space.naming import parse_alias
from densenas_mm.structures import ARCH_KEY, ArchError, DerivedArch, \
    derive_arch

CYRILLIC_ES = '\u0441'  # looks like a Latin c


@pytest.mark.parametrize('name, shown, closest', [
    (f'mb{CYRILLIC_ES}onv_k3_t6', "'с' U+0441 CYRILLIC SMALL LETTER ES at "
     'position 2', 'mbconv_k3_t6'),
    ('b\u0430sic_block', "'а' U+0430 CYRILLIC SMALL LETTER A at position 1",
     'basic_block'),
    ('skip\u2010connect', "'‐' U+2010 HYPHEN at position 4", 'skip_connect'),
    ('mbconv_k3_t\uff16', "'６' U+FF16 FULLWIDTH DIGIT SIX at position 11",
     'mbconv_k3_t6'),
    ('b\u03bfttleneck', "'ο' U+03BF GREEK SMALL LETTER OMICRON at position "
     '1', 'bottleneck'),
])
def test_lookalike_op_name_shows_code_points_and_closest(name, shown,
                                                         closest):
    with pytest.raises(ValueError) as err:
        parse_op(name)
    message = str(err.value)
    assert f'unknown op {name!r}' in message
    assert f'contains non-ASCII character(s): {shown}' in message
    assert message.endswith(f"did you mean {closest!r}?)")


def test_ascii_names_get_no_hint():
    assert unicode_hint('mbconv_k4_t6') == ''
    with pytest.raises(ValueError) as err:
        parse_op('conv3x3')
    assert 'non-ASCII' not in str(err.value)


def test_non_ascii_without_a_close_name():
    assert unicode_hint('\u00e9t\u00e9').endswith('; op names are ASCII)')


def test_unicode_digits_are_not_numbers_in_aliases():
    """``\\d`` matches any Unicode digit: the name patterns are ASCII."""
    with pytest.raises(ValueError, match='is not a DenseNAS alias'):
        parse_alias('b0\u0664_layer0')  # ARABIC-INDIC DIGIT FOUR


def test_arch_file_with_a_lookalike_op(tmp_path):
    space = load_preset('densenas_demo_32')
    data = derive_arch(space, SpaceGraph(space), {},
                       path=[0, 1, 2, 4, 6, 7]).to_dict()
    head = data[ARCH_KEY]['blocks'][0]['head_op']
    assert 'c' in head
    data[ARCH_KEY]['blocks'][0]['head_op'] = head.replace('c', CYRILLIC_ES)
    path = tmp_path / 'arch.yaml'
    path.write_text(yaml.safe_dump(data, allow_unicode=True,
                                   sort_keys=False))
    with pytest.raises(ArchError) as err:
        DerivedArch.load(str(path))
    assert 'U+0441 CYRILLIC SMALL LETTER ES' in str(err.value)
    assert f'did you mean {head!r}?' in str(err.value)
