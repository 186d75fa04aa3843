"""Does a derived architecture fit a supernet checkpoint, and where do its
weights live there."""
from typing import Dict

from torch import Tensor

from densenas_mm.models.backbones.state_keys import (candidate, candidates_in,
                                                     supernet_head,
                                                     supernet_layer,
                                                     supernet_terminal)
from densenas_mm.search_space import SearchSpace
from densenas_mm.structures import ArchError, DerivedArch, check_arch_in_space
from densenas_mm.utils.checkpoint import CheckpointError
from densenas_mm.utils.state_fit import check_state_fits

SUPERNET_PREFIX = 'architecture.backbone.'


class ConversionError(CheckpointError):
    """Raised for a checkpoint or architecture the converter cannot use."""


def check_arch_coordinates(arch: DerivedArch) -> None:
    """Check every block has supernet coordinates (``node``, ``src``).

    That the coordinates chain into a path and agree with ``path`` is part
    of ``DerivedArch.validate``.

    Raises:
        ConversionError: For a block without them (a published net_config).
    """
    for i, blk in enumerate(arch.blocks):
        if blk.node is None or blk.src is None:
            raise ConversionError(
                f'block {i} of the architecture has no supernet node/src: '
                'published net_config strings cannot inherit supernet '
                'weights; use the YAML the search derived (it records '
                'node, src and layer_ids)')


def check_supernet_fits(space: SearchSpace, supernet: Dict[str, Tensor],
                        path: str) -> None:
    """The checkpoint's supernet is exactly the supernet of ``space``.

    The supernet of ``space`` is built on the meta device (no memory, no
    init) and its keys and shapes are compared with the checkpoint's.

    Raises:
        ConversionError: Listing missing, unexpected and mismatched keys.
    """
    import torch

    from densenas_mm.models.backbones import DenseNASSupernet
    with torch.device('meta'):
        expected = DenseNASSupernet(search_space=space).state_dict()
    try:
        check_state_fits(
            expected, supernet, path,
            f'the supernet of search space {space.name!r} the architecture '
            f'was derived in ({SUPERNET_PREFIX}* keys)')
    except CheckpointError as err:
        raise ConversionError(str(err)) from None


def check_fit(arch: DerivedArch, search_state: Dict[str, Tensor],
              path: str) -> Dict[str, Tensor]:
    """Check ``arch`` and the search checkpoint belong together.

    With the space the architecture records, ``arch`` is checked against it
    (:func:`~densenas_mm.structures.check_arch_in_space`) and the
    checkpoint's supernet must be that space's supernet, key for key. An
    architecture file without a recorded space (format 1) is checked block
    by block against the checkpoint's keys (:func:`check_arch_fits`).

    Returns:
        dict: The supernet tensors (``architecture.backbone.`` removed).

    Raises:
        ConversionError: Naming what does not fit.
    """
    supernet = supernet_state(search_state)
    check_arch_coordinates(arch)
    space = arch.recorded_space()
    if space is None:
        check_arch_fits(arch, supernet)
        return supernet
    try:
        check_arch_in_space(arch, space)
    except ArchError as err:
        raise ConversionError(str(err)) from None
    check_supernet_fits(space, supernet, path)
    return supernet


def supernet_state(search_state: Dict[str, Tensor]) -> Dict[str, Tensor]:
    """The supernet's tensors, ``architecture.backbone.`` removed.

    Raises:
        ConversionError: If there are none (not a search checkpoint).
    """
    supernet = {
        k[len(SUPERNET_PREFIX):]: v
        for k, v in search_state.items() if k.startswith(SUPERNET_PREFIX)
    }
    if not supernet:
        tops = sorted({k.split('.')[0] for k in search_state})
        raise ConversionError(
            f'no {SUPERNET_PREFIX}* tensors: not a DenseNAS search '
            f'checkpoint (top-level keys: {tops})')
    return supernet


def check_arch_fits(arch: DerivedArch, supernet: Dict[str, Tensor]) -> None:
    """Check the supernet has every edge, op and layer ``arch`` uses.

    Args:
        arch (DerivedArch): The architecture.
        supernet (dict): Supernet state with the backbone prefix removed.

    Raises:
        ConversionError: Naming the first block / op the supernet lacks.
    """

    def has(prefix: str) -> bool:
        return any(k.startswith(prefix + '.') for k in supernet)

    for i, blk in enumerate(arch.blocks):
        head = supernet_head(blk.node, blk.src)
        if not has(head):
            raise ConversionError(
                f'the architecture does not fit the supernet: block {i} '
                f'uses the edge {blk.src} -> {blk.node}, which the supernet '
                f'does not have (no keys under {SUPERNET_PREFIX}{head})')
        if not has(candidate(head, blk.head_op)):
            raise ConversionError(
                f'the architecture does not fit the supernet: head op '
                f'{blk.head_op!r} of block {i} (edge {blk.src} -> '
                f'{blk.node}) is not a supernet candidate there; candidates:'
                f' {candidates_in(supernet, head)}')
        for k, (lid, op) in enumerate(zip(blk.layer_ids or [], blk.stack_ops)):
            layer = supernet_layer(blk.node, lid)
            if not has(candidate(layer, op)):
                raise ConversionError(
                    f'the architecture does not fit the supernet: stacking '
                    f'layer {k} of block {i} is supernet layer {lid} of node '
                    f'{blk.node} with op {op!r}, which is not there; '
                    f'candidates: '
                    f'{candidates_in(supernet, layer) or "none (no layer)"}')
    if arch.last_dim is not None:
        term = supernet_terminal(arch.blocks[-1].node)
        if not has(term):
            raise ConversionError(
                'the architecture does not fit the supernet: its last block '
                f'(node {arch.blocks[-1].node}) has no terminal branch '
                f'{SUPERNET_PREFIX}{term}')
