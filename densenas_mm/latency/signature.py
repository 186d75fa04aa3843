"""Op signatures: what a latency-table entry is keyed by.

One :class:`OpSignature` names one measurable module at its real input shape:
the op (any name of :mod:`densenas_mm.search_space.grammar`: a layer op, the
``stem+...`` compound or the ``classifier``), its widths, stride, input
H x W and the measurement setting (batch size, dtype, memory format).
Identical signatures are measured once and shared, e.g. the three stacking
layers of an MBV2 block.
"""
import re
from dataclasses import asdict, dataclass, replace
from typing import Any, Dict, Tuple

from densenas_mm.search_space.grammar import (CLASSIFIER, SKIP, OpSpec,
                                              parse_part)

MEMORY_FORMATS = ('contiguous', 'channels_last')
DTYPES = ('float32', 'float16', 'bfloat16', 'float64')

_KEY = re.compile(r'^(?P<op>[A-Za-z0-9_+]+)\|c(?P<c_in>\d+)-(?P<c_out>\d+)'
                  r'\|s(?P<stride>\d+)\|r(?P<h>\d+)x(?P<w>\d+)'
                  r'\|b(?P<batch_size>\d+)\|(?P<dtype>\w+)'
                  r'\|(?P<memory_format>\w+)$')
KEY_FORM = 'OP|cCIN-COUT|sSTRIDE|rHxW|bBATCH|DTYPE|MEMORY_FORMAT'


@dataclass(frozen=True)
class OpSignature:
    """A measurable module at its input shape and measurement setting.

    Attributes:
        op (str): Op name (``mbconv_k3_t6``, ``conv1_1``, ``stem+...``,
            ``classifier``, ...).
        c_in (int): Input channels.
        c_out (int): Output channels (classes for the classifier).
        stride (int): Stride (1 or 2).
        h (int): Input height.
        w (int): Input width.
        batch_size (int): Batch size of the measurement.
        dtype (str): ``float32``, ``float16``, ``bfloat16`` or ``float64``.
        memory_format (str): ``contiguous`` or ``channels_last``.
    """
    op: str
    c_in: int
    c_out: int
    stride: int
    h: int
    w: int
    batch_size: int = 1
    dtype: str = 'float32'
    memory_format: str = 'contiguous'

    @property
    def spec(self) -> OpSpec:
        """What the op name means (see the grammar)."""
        return parse_part(self.op)

    @property
    def kernel(self) -> int:
        """Spatial kernel (3 for the stem conv, 1 for the classifier)."""
        return self.spec.kernel

    @property
    def expansion(self) -> int:
        """MBConv expansion ratio (1 for other ops)."""
        return self.spec.expansion

    @property
    def is_skip(self) -> bool:
        """Whether this is the skip connection."""
        return self.op == SKIP

    @property
    def key(self) -> str:
        """The table key, see :data:`KEY_FORM`."""
        return (f'{self.op}|c{self.c_in}-{self.c_out}|s{self.stride}|'
                f'r{self.h}x{self.w}|b{self.batch_size}|{self.dtype}|'
                f'{self.memory_format}')

    @property
    def out_hw(self) -> Tuple[int, int]:
        """Output H, W ('same' padding, odd kernels): ceil(in / stride)."""
        if self.op == CLASSIFIER:
            return 1, 1
        return ((self.h - 1) // self.stride + 1,
                (self.w - 1) // self.stride + 1)

    def with_setting(self, batch_size: int, dtype: str,
                     memory_format: str) -> 'OpSignature':
        """Copy with another measurement setting."""
        return replace(
            self,
            batch_size=batch_size,
            dtype=dtype,
            memory_format=memory_format)

    def to_fields(self) -> Dict[str, Any]:
        """Plain dict of the signature (plus kernel / expansion)."""
        out = asdict(self)
        out.update(kernel=self.kernel, expansion=self.expansion)
        return out

    @classmethod
    def from_key(cls, key: str) -> 'OpSignature':
        """Parse a table key.

        Raises:
            ValueError: If ``key`` does not have the form :data:`KEY_FORM`
                or names an unknown op, dtype or memory format.
        """
        match = _KEY.match(key)
        if not match:
            raise ValueError(f'malformed latency-table key {key!r}; keys '
                             f'look like {KEY_FORM}, e.g. '
                             "'mbconv_k3_t6|c16-24|s2|r112x112|b32|float32|"
                             "contiguous'")
        parts = match.groupdict()
        sig = cls(
            op=parts['op'],
            c_in=int(parts['c_in']),
            c_out=int(parts['c_out']),
            stride=int(parts['stride']),
            h=int(parts['h']),
            w=int(parts['w']),
            batch_size=int(parts['batch_size']),
            dtype=parts['dtype'],
            memory_format=parts['memory_format'])
        sig.validate()
        return sig

    def validate(self) -> None:
        """Raise ValueError naming the first invalid field."""
        try:
            parse_part(self.op)
        except ValueError as err:
            raise ValueError(f'{self.key}: {err}') from None
        for name in ('c_in', 'c_out', 'h', 'w', 'batch_size'):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f'{self.key}: {name} must be an int >= 1, '
                                 f'got {value!r}')
        if self.stride not in (1, 2):
            raise ValueError(f'{self.key}: stride must be 1 or 2')
        if self.dtype not in DTYPES:
            raise ValueError(f'{self.key}: dtype must be one of {DTYPES}')
        if self.memory_format not in MEMORY_FORMATS:
            raise ValueError(f'{self.key}: memory_format must be one of '
                             f'{MEMORY_FORMATS}')
