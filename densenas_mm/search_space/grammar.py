"""The op-name grammar of DenseNAS: what every op name means.

Layer ops follow the reference code: ``mbconv_k{K}_t{T}``, ``skip_connect``,
``basic_block``, ``bottleneck`` and the terminal ``conv1_1``
(:func:`parse_op`). Two more names describe the fixed parts of a net that a
latency table measures as one module each (:func:`parse_part`):

- ``stem`` / ``stem+OP1+OP2...``: the 3x3 stem conv (+BN+act) *together
  with* the fixed ``stem_ops`` (MBV2: ``stem+mbconv_k3_t1``), from the image
  to ``stem_channels``;
- ``classifier``: global average pooling + ``Linear(c_in, num_classes)``.

:func:`densenas_mm.search_space.ops.build_op` builds the module of any of
these names; every consumer (supernet, derived net, latency-table modules,
FLOPs counting) goes through it.
"""
import difflib
import re
import unicodedata
from dataclasses import dataclass
from typing import List, Sequence, Tuple

STEM = 'stem'
CLASSIFIER = 'classifier'
SKIP = 'skip_connect'
TERMINAL = 'conv1_1'

_MBCONV = re.compile(r'^mbconv_k(\d+)_t(\d+)$', re.ASCII)
VALID_OP_FORMS = ('mbconv_k<odd kernel>_t<expansion>', SKIP, 'basic_block',
                  'bottleneck', TERMINAL)
#: Kinds that only describe fixed parts of a net, never a layer.
PART_KINDS = ('stem', 'classifier')
#: Letters of other scripts that look like the Latin letters of op names
#: (Cyrillic and Greek, written as escapes), and dashes for ``_``; NFKD
#: handles full-width forms and accents.
_LOOK_ALIKES = {
    '\u0430': 'a', '\u0441': 'c', '\u0435': 'e', '\u043e': 'o', '\u0440': 'p',
    '\u0445': 'x', '\u0443': 'y', '\u043a': 'k', '\u0442': 't', '\u0456': 'i',
    '\u0455': 's', '\u0458': 'j', '\u0501': 'd', '\u0578': 'n', '\u042c': 'b',
    '\u043f': 'n', '\u043c': 'm', '\u03b9': 'i', '\u03bf': 'o', '\u03b1': 'a',
    '\u03ba': 'k', '\u03c4': 't', '\u03bd': 'v', '\u03c1': 'p', '\u03c5': 'u',
    '\u03f2': 'c', '\u2010': '_', '\u2011': '_', '\u2012': '_', '\u2013': '_',
    '\uff3f': '_'
}


@dataclass(frozen=True)
class OpSpec:
    """What an op name means.

    Attributes:
        name (str): The op name as written in configs.
        kind (str): ``'mbconv'``, ``'skip'``, ``'basic'``, ``'bottleneck'``,
            ``'conv1x1'``, ``'stem'`` or ``'classifier'``.
        kernel (int): Spatial kernel size (1 for skip / conv1_1 / the
            classifier, 3 for the ResNet blocks and the stem conv).
        expansion (int): MBConv expansion ratio (1 for the others).
        sub_ops (tuple[str, ...]): The fixed ops a ``stem+...`` name
            carries after the stem conv (empty for every other kind).
    """
    name: str
    kind: str
    kernel: int = 1
    expansion: int = 1
    sub_ops: Tuple[str, ...] = ()

    @property
    def family(self) -> str:
        """``'mbv2'``, ``'resnet'`` or ``'any'`` (skip, conv1_1, parts)."""
        if self.kind == 'mbconv':
            return 'mbv2'
        if self.kind in ('basic', 'bottleneck'):
            return 'resnet'
        return 'any'


def parse_op(name: str) -> OpSpec:
    """Parse the name of a layer op (a candidate or the terminal conv).

    Args:
        name (str): e.g. ``'mbconv_k5_t6'``.

    Returns:
        OpSpec: The parsed op.

    Raises:
        ValueError: If the name is not one of :data:`VALID_OP_FORMS`.
    """
    if not isinstance(name, str):
        raise ValueError(f'op name must be a string, got {name!r}')
    match = _MBCONV.match(name)
    if match:
        kernel, expansion = int(match.group(1)), int(match.group(2))
        if kernel % 2 == 0 or kernel < 1 or expansion < 1:
            raise ValueError(
                f'unknown op {name!r}: MBConv kernels must be odd and '
                'expansions >= 1 (e.g. mbconv_k3_t6)')
        return OpSpec(name, 'mbconv', kernel, expansion)
    simple = {
        SKIP: OpSpec(name, 'skip'),
        'basic_block': OpSpec(name, 'basic', 3),
        'bottleneck': OpSpec(name, 'bottleneck', 3),
        TERMINAL: OpSpec(name, 'conv1x1', 1),
    }
    if name in simple:
        return simple[name]
    raise ValueError(f'unknown op {name!r}; valid op names are '
                     f'{", ".join(VALID_OP_FORMS)}{unicode_hint(name)}')


def _ascii_twin(name: str) -> str:
    """``name`` with look-alike letters of other scripts replaced by the
    Latin letters they imitate (others removed)."""
    out = []
    for char in name:
        if char.isascii():
            out.append(char)
            continue
        char = _LOOK_ALIKES.get(char, char)
        folded = unicodedata.normalize('NFKD', char)
        out.append(''.join(c for c in folded if c.isascii()))
    return ''.join(out)


def _closest_op(name: str) -> str:
    """The valid op name closest to ``name`` ('' if none is close)."""
    match = _MBCONV.match(name)
    if match:
        return name
    options: List[str] = [SKIP, 'basic_block', 'bottleneck', TERMINAL]
    found = re.findall(r'\d+', name)
    if len(found) >= 2:
        options.append(f'mbconv_k{found[0]}_t{found[1]}')
    close = difflib.get_close_matches(name, options, n=1, cutoff=0.6)
    return close[0] if close else ''


def unicode_hint(name: str) -> str:
    """What an op name that looks valid but is not holds: its non-ASCII
    characters with code points and Unicode names, and the closest valid
    name ('' for a plain ASCII name).

    For ``'mb\u0441onv_k3_t6'`` (a Cyrillic es): `` (it contains non-ASCII
    character(s): 'с' U+0441 CYRILLIC SMALL LETTER ES at position 2; did
    you mean 'mbconv_k3_t6'?)``.
    """
    if not isinstance(name, str) or name.isascii():
        return ''
    chars = [
        f'{c!r} U+{ord(c):04X} {unicodedata.name(c, "unnamed")} at position '
        f'{i}' for i, c in enumerate(name) if not c.isascii()
    ]
    closest = _closest_op(_ascii_twin(name))
    mean = f"; did you mean {closest!r}?" if closest else \
        '; op names are ASCII'
    return (f' (it contains non-ASCII character(s): {", ".join(chars)}'
            f'{mean})')


def parse_part(name: str) -> OpSpec:
    """Parse any op name: a layer op, ``stem[+OPS]`` or ``classifier``.

    Raises:
        ValueError: For an unknown name, or a stem carrying an unknown op.
    """
    if name == CLASSIFIER:
        return OpSpec(name, 'classifier', 1)
    if isinstance(name, str) and name.split('+')[0] == STEM:
        subs = tuple(name.split('+')[1:])
        for sub in subs:
            parse_op(sub)
        return OpSpec(name, 'stem', 3, sub_ops=subs)
    return parse_op(name)


def stem_op_name(stem_ops: Sequence[str]) -> str:
    """Op name of a stem followed by the fixed ``stem_ops``."""
    return '+'.join([STEM] + list(stem_ops))
