"""The step settings a search-step benchmark compares in one process.

- ``default``: what a search runs with (the ``DenseNAS`` defaults:
  contiguous batches, the depthwise convolutions' grouped-convolution weight
  gradient on CPU, the architecture's parameter list cached for the arch
  steps' freezing);
- ``channels_last``: the defaults with ``DenseNAS(channels_last='auto')``
  (channels-last batches on CPU), the opt-in faster CPU setting;
- ``reference``: the code before these fast paths (contiguous batches,
  PyTorch's depthwise weight gradient, the parameter list walked again
  every arch step), i.e. the kernels and memory format the reference
  implementation runs.

The benchmark compares their losses and gradients on the first step of each
kind, with each other and with float64 (``same_results`` in its report).
A setting is applied to the live objects before each timed call, so the two
can alternate round by round on one model.
"""
from dataclasses import dataclass
from typing import Any, Dict, Union

import torch
import torch.nn as nn

from densenas_mm.models.algorithms import MemoryFormatPolicy
from densenas_mm.search_space import set_depthwise_weight_grad


@dataclass(frozen=True)
class StepSetting:
    """How the steps of one benchmark setting run.

    Attributes:
        name (str): A key of :data:`SETTINGS`.
        channels_last (bool | str): ``DenseNAS.channels_last`` value.
        depthwise_grad (str): Weight-gradient kernel of the depthwise convs
            (``DepthwiseConv2d.weight_grad``).
        relist_weights (bool): Walk the architecture's parameters again
            before every arch step (what the code did before the cache).
    """
    name: str
    channels_last: Union[bool, str]
    depthwise_grad: str
    relist_weights: bool

    def apply_to_algorithm(self, algorithm: nn.Module) -> None:
        """Put ``algorithm`` (a ``DenseNAS``) in this setting."""
        algorithm.channels_last = self.channels_last
        set_depthwise_weight_grad(algorithm, self.depthwise_grad)

    def apply_to_model(self, model: nn.Module) -> None:
        """Put a plain classifier (subnet, MobileNetV2) in this setting."""
        set_depthwise_weight_grad(model, self.depthwise_grad)

    def batch_for_model(self, batch: Dict[str, Any],
                        device: str) -> Dict[str, Any]:
        """The batch a plain classifier gets: channels-last where a
        ``DenseNAS`` of this setting would make it so (the algorithm
        converts its own batches after its data preprocessor)."""
        if not MemoryFormatPolicy(self.channels_last).on(device):
            return batch
        return dict(
            batch,
            inputs=batch['inputs'].contiguous(
                memory_format=torch.channels_last))

    def to_dict(self) -> Dict[str, Any]:
        """The setting as plain values, for reports."""
        return dict(
            channels_last=self.channels_last,
            depthwise_grad=self.depthwise_grad,
            relist_weights=self.relist_weights)


SETTINGS = {
    'default':
    StepSetting('default', False, 'auto', relist_weights=False),
    'channels_last':
    StepSetting('channels_last', 'auto', 'auto', relist_weights=False),
    'reference':
    StepSetting('reference', False, 'native', relist_weights=True),
}


def resolve_settings(names, channels_last: bool = False):
    """The :class:`StepSetting` objects of ``names``.

    Args:
        names (Sequence[str]): Keys of :data:`SETTINGS`.
        channels_last (bool): Force channels-last (weights and batches) in
            the ``default`` setting (``--channels-last``, e.g. on a GPU,
            where ``'auto'`` stays contiguous).

    Raises:
        ValueError: For an unknown name.
    """
    bad = [n for n in names if n not in SETTINGS]
    if bad:
        raise ValueError(f'unknown settings {bad}; settings are '
                         f'{sorted(SETTINGS)}')
    out = []
    for name in names:
        setting = SETTINGS[name]
        if channels_last and name == 'default':
            setting = StepSetting('default', True, setting.depthwise_grad,
                                  setting.relist_weights)
        out.append(setting)
    return out
