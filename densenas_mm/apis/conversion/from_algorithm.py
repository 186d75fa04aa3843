"""The standalone subnet of a live search algorithm (no checkpoint file).

mmrazor's ``export_fix_subnet(algorithm, slice_weight=True)`` returns a copy
of the whole algorithm with every mutable fixed: it runs the derived net,
but still holds the supernet's other blocks (each reduced to its chosen
op), the mutator and its alpha / beta, because mmrazor's function can only
fix mutables, not remove the blocks the fixed routes bypass. The standalone
subnet, an mmcls ``ImageClassifier`` with a
:class:`~densenas_mm.models.backbones.DenseNASNet` backbone holding exactly
the path's weights, is :func:`subnet_from_algorithm` (in memory) or
:func:`~.supernet_to_subnet.convert_checkpoint` (from a checkpoint file).
"""
from typing import Optional, Tuple, Union

import torch.nn as nn
from mmengine.config import Config
from mmengine.model import is_model_wrapper

from densenas_mm.structures import DerivedArch
from .supernet_to_subnet import (ConversionReport, convert_state_dict,
                                 subnet_classifier)


def subnet_from_algorithm(
        algorithm: nn.Module,
        arch: Optional[DerivedArch] = None,
        config: Optional[Union[str, Config]] = None
) -> Tuple[nn.Module, ConversionReport]:
    """The derived net of a DenseNAS algorithm as a standalone classifier.

    Args:
        algorithm (nn.Module): ``DenseNAS`` (or its DDP wrapper).
        arch (DerivedArch, optional): The architecture; by default the one
            the current alpha / beta derive
            (``algorithm.mutator.derived_arch()``).
        config (str | Config, optional): Subnet config whose classifier to
            build (its ``model.backbone.arch`` is replaced); by default an
            mmcls ``ImageClassifier`` (DenseNASNet, global average pooling,
            ``LinearClsHead`` with the search classifier's classes).

    Returns:
        tuple[nn.Module, ConversionReport]: The classifier in eval mode with
        the supernet's weights of the path (see
        :func:`~.supernet_to_subnet.convert_state_dict` for what is
        re-initialised) and the report.
    """
    algo = algorithm.module if is_model_wrapper(algorithm) else algorithm
    if arch is None:
        arch = algo.mutator.derived_arch()
    model = subnet_classifier(arch, algo.architecture.head.num_classes,
                              config)
    state, report = convert_state_dict(algo.state_dict(), arch,
                                       model.state_dict())
    model.load_state_dict(state, strict=True)
    return model.eval(), report
