"""Op-level mutable of DenseNAS: a mixed op over candidate operations."""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmrazor.models.mutables.mutable_module import DiffMutableModule
from mmrazor.utils.typing import DumpChosen
from torch import Tensor

from densenas_mm.registry import MODELS
from densenas_mm.search_space.ops import build_op
from densenas_mm.structures.derivation import argmax_choice


@MODELS.register_module()
class DenseNASMixedOp(DiffMutableModule):
    """A head or stacking layer choosing one of several candidate ops.

    The op-level architecture parameter alpha is held by the mutator (as in
    mmrazor's differentiable mutables) and passed into :meth:`forward`. The
    mutator picks which candidates are *in play* for the next forward with
    :meth:`set_active`:

    - one index: that op runs alone, unweighted (weight steps: sampled
      uniformly during warm-up, by softmax(alpha) after);
    - several indices: the output is the sum of their outputs weighted by the
      softmax over their alphas (the arch step's two sampled ops);
    - ``None``: all candidates, weighted by softmax(alpha) (supernet
      validation in the reference code).

    Once fixed (``fix_chosen``) only the chosen op is kept.

    mmrazor's mutable API means what mmrazor says: ``current_choice`` is what
    the next forward runs (reading it gives ``None`` for all candidates, a
    name for one, a list for several; setting it to a name or a list of
    names puts exactly those in play, so ``mutator.set_choices`` changes the
    forward); ``max_choice`` / ``min_choice`` are the candidates with the
    most / fewest mult-adds at this op's input shape (counted by
    :func:`densenas_mm.models.estimators.complexity.signature_flops`, so
    skip is the smallest stacking op); ``sample_choice(alpha)`` is the most
    probable candidate (a uniformly drawn one without alpha).

    Args:
        op_names (Sequence[str]): Candidate op names, e.g. ``mbconv_k3_t6``.
        in_channels (int): Input width.
        out_channels (int): Output width.
        stride (int): Stride of every candidate.
        alias (str): Stable name (see :mod:`densenas_mm.search_space.naming`).
        affine (bool): Affine BN in the candidates (False in the supernet).
        act (str): Activation for ops that take one.
        input_size (int, optional): Input resolution (square) of the op in
            its supernet; needed by ``max_choice`` / ``min_choice``.
        init_cfg (dict, optional): Init config.

    Example:
        >>> op = DenseNASMixedOp(['mbconv_k3_t3', 'skip_connect'], 8, 8,
        ...                      alias='b01_layer0')
        >>> op.set_active([0])
        >>> op(torch.rand(2, 8, 16, 16)).shape
        torch.Size([2, 8, 16, 16])
    """

    def __init__(self,
                 op_names: Sequence[str],
                 in_channels: int,
                 out_channels: int,
                 stride: int = 1,
                 alias: Optional[str] = None,
                 affine: bool = False,
                 act: str = 'relu6',
                 input_size: Optional[int] = None,
                 init_cfg: Optional[Dict] = None) -> None:
        super().__init__(alias=alias, init_cfg=init_cfg)
        if not op_names:
            raise ValueError(f'mixed op {alias!r} needs at least one op')
        self._all_choices: List[str] = list(op_names)
        self._shape = (int(in_channels), int(out_channels), int(stride))
        self.input_size = None if input_size is None else int(input_size)
        self._candidates = nn.ModuleDict({
            name: build_op(name, in_channels, out_channels, stride, affine,
                           act)
            for name in op_names
        })
        self._active: Optional[List[int]] = None
        self._chosen: Optional[str] = None
        self.arch_grad = True
        # The alpha-free weights, built once as non-persistent buffers: they
        # follow the module's .to() / .cuda() / .half() and stay out of the
        # state dict (checkpoints keep their layout).
        n = len(self._all_choices)
        self.register_buffer('_one', torch.ones(1), persistent=False)
        self.register_buffer(
            '_uniform', torch.full((n, ), 1.0 / n), persistent=False)

    # ---------------------------------------------------------- choices
    @property
    def choices(self) -> List[str]:
        """All candidate names (kept after fixing, for index stability)."""
        return list(self._all_choices)

    @property
    def active(self) -> Optional[List[int]]:
        """Indices in play, or None for all."""
        return self._active

    def set_active(self, indices: Optional[Sequence[int]]) -> None:
        """Choose the candidates in play for the next forward passes."""
        if indices is None:
            self._active = None
        else:
            indices = [int(i) for i in indices]
            bad = [i for i in indices if not 0 <= i < self.num_choices]
            if bad or not indices:
                raise IndexError(f'{self.alias}: candidate indices {indices} '
                                 f'out of range 0..{self.num_choices - 1}')
            self._active = indices

    @property
    def current_choice(self) -> Union[None, str, List[str]]:
        """The candidates in play: None (all), a name, or a list of names."""
        if self.is_fixed:
            return self._chosen
        if self._active is None:
            return None
        names = [self._all_choices[i] for i in self._active]
        return names[0] if len(names) == 1 else names

    @current_choice.setter
    def current_choice(self, choice: Union[None, str, Sequence[str]]) -> None:
        """Put ``choice`` (None = all, a name, or names) in play."""
        if choice is None:
            names = None
        else:
            names = [choice] if isinstance(choice, str) else list(choice)
            bad = [n for n in names if n not in self._all_choices]
            if bad or not names:
                raise ValueError(
                    f'{self.alias}: choice {choice!r} is not among the '
                    f'candidates {self._all_choices}')
        if self.is_fixed:
            if names != [self._chosen]:
                raise ValueError(f'{self.alias} is fixed to '
                                 f'{self._chosen!r}; cannot choose {choice!r}')
            return
        self.set_active(None if names is None else
                        [self._all_choices.index(n) for n in names])

    # ------------------------------------------------------------- costs
    def candidate_flops(self) -> List[float]:
        """Mult-adds per image of every candidate at this op's input shape.

        Raises:
            RuntimeError: If the op was built without ``input_size``.
        """
        if self.input_size is None:
            raise RuntimeError(
                f'{self.alias}: built without input_size, so the FLOPs that '
                'define max_choice / min_choice are unknown (the supernet '
                'passes it)')
        from densenas_mm.latency.signature import OpSignature
        from densenas_mm.models.estimators.complexity import signature_flops
        c_in, c_out, stride = self._shape
        return [
            signature_flops(
                OpSignature(name, c_in, c_out, stride, self.input_size,
                            self.input_size)) for name in self._all_choices
        ]

    @property
    def max_choice(self) -> str:
        """The candidate with the most mult-adds (first on ties)."""
        flops = self.candidate_flops()
        return self._all_choices[flops.index(max(flops))]

    @property
    def min_choice(self) -> str:
        """The candidate with the fewest mult-adds (first on ties)."""
        flops = self.candidate_flops()
        return self._all_choices[flops.index(min(flops))]

    def active_weights(self,
                       arch_param: Optional[Tensor],
                       all_ops: bool = False) -> Tuple[List[int], Tensor]:
        """Candidates in play and their output weights.

        Args:
            arch_param (Tensor, optional): alpha; None for single-choice ops.
            all_ops (bool): Every candidate instead of those in play (what
                ``set_active(None)`` would give), without changing them.

        Returns:
            tuple[list[int], Tensor]: Indices and weights summing to 1,
            differentiable w.r.t. alpha when ``arch_grad`` is on and more
            than one op is in play.
        """
        if self.is_fixed:
            idx = [self._all_choices.index(self._chosen)]
        elif self._active is not None and not all_ops:
            idx = self._active
        else:
            idx = list(range(self.num_choices))
        if len(idx) == 1:
            return idx, (self._one if arch_param is None else
                         self._one.to(arch_param.dtype))
        if arch_param is None:
            return idx, (self._uniform if len(idx) == self.num_choices else
                         self._one.new_full((len(idx), ), 1.0 / len(idx)))
        alpha = arch_param if self.arch_grad else arch_param.detach()
        if len(idx) == self.num_choices:
            return idx, F.softmax(alpha, dim=-1)
        # Gather by Python ints (views + stack): ``alpha[idx]`` with a list
        # makes a CPU index tensor, a blocking host-to-device copy on CUDA
        # in every forward and backward.
        return idx, F.softmax(torch.stack([alpha[i] for i in idx]), dim=-1)

    # ---------------------------------------------------------- forward
    def _run(self, x: Tensor, arch_param: Optional[Tensor]) -> Tensor:
        idx, weights = self.active_weights(arch_param)
        if len(idx) == 1:
            return self._candidates[self._all_choices[idx[0]]](x)
        out = None
        for k, i in enumerate(idx):
            y = weights[k] * self._candidates[self._all_choices[i]](x)
            out = y if out is None else out + y
        return out

    def forward_fixed(self, x: Tensor) -> Tensor:
        """Run the chosen op."""
        return self._candidates[self._chosen](x)

    def forward_all(self, x: Tensor) -> Tensor:
        """Run the ops in play without alpha (uniform weights)."""
        return self._run(x, None)

    def forward_arch_param(self, x: Tensor, arch_param: Tensor) -> Tensor:
        """Run the ops in play weighted as described in the class doc."""
        return self._run(x, arch_param)

    # ------------------------------------------------------ fix / export
    def sample_choice(self, arch_param: Optional[Tensor] = None) -> str:
        """The most probable op under ``arch_param`` (mmrazor's meaning for
        differentiable mutables); without it a uniformly drawn one."""
        if arch_param is None:
            return self._all_choices[int(
                torch.randint(self.num_choices, ()).item())]
        return argmax_choice(self._all_choices, arch_param)

    def fix_chosen(self, chosen: Union[str, List[str]]) -> None:
        """Keep only ``chosen``; irreversible."""
        if isinstance(chosen, (list, tuple)):
            if len(chosen) != 1:
                raise ValueError(f'{self.alias}: fix to one op, got {chosen}')
            chosen = chosen[0]
        if chosen not in self._all_choices:
            raise ValueError(
                f'{self.alias}: {chosen!r} is not a candidate; candidates are '
                f'{self._all_choices}. The architecture does not fit this '
                'supernet.')
        if self.is_fixed:
            raise AttributeError(f'{self.alias} is already fixed')
        for name in list(self._candidates.keys()):
            if name != chosen:
                self._candidates.pop(name)
        self._chosen = chosen
        self._active = [self._all_choices.index(chosen)]
        self.is_fixed = True

    def dump_chosen(self) -> DumpChosen:
        """Current (single) choice, for mmrazor's ``export_fix_subnet``."""
        chosen = self.current_choice
        if not isinstance(chosen, str):
            raise RuntimeError(
                f'{self.alias}: no single op chosen (current: {chosen!r}); '
                'call mutator.derive() (the derived architecture) or '
                'mutator.set_choices(...) first')
        return DumpChosen(chosen=chosen, meta=dict(all_choices=self.choices))
