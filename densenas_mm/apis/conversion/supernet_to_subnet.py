"""Supernet -> standalone subnet checkpoint conversion.

A DenseNAS search checkpoint holds the whole supernet (under
``architecture.backbone.``) and the search classifier (``architecture.head.``).
Given the derived architecture (with the supernet ``node`` / ``src`` /
``layer_ids`` of each block, as derivation writes them) the chosen ops'
weights are copied to the keys of an mmcls ``ImageClassifier`` whose backbone
is :class:`~densenas_mm.models.backbones.densenas_net.DenseNASNet`:

subnet key -> supernet key by
:func:`~densenas_mm.models.backbones.state_keys.subnet_to_supernet_key`
(the layout of both backbones is defined in
:mod:`densenas_mm.models.backbones.state_keys`), subnet keys under
``backbone.``, supernet keys under ``architecture.backbone.``.

Re-initialised (listed in the report and the checkpoint's ``meta``):

- affine BN ``weight`` / ``bias`` -> 1 / 0: the supernet's BN is
  ``affine=False`` (running statistics *are* inherited);
- the classifier when its shape differs (other ``num_classes`` or width) or
  when the subnet has no terminal conv (ResNet nets: the classifier then
  sees a different feature than in the supernet).

Everything else must be found with the same shape, otherwise the
architecture does not fit the supernet and a :class:`ConversionError` says
which block and op is wrong.
"""
import os
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Set, Tuple, Union

import torch
import torch.nn as nn
from mmengine.config import Config
from torch import Tensor

from densenas_mm.structures.derived_arch import ArchError, DerivedArch
from densenas_mm.utils.checkpoint import (load_state_dict,
                                          save_checkpoint_atomic)
from densenas_mm.models.backbones.state_keys import subnet_to_supernet_key
from .arch_fit import SUPERNET_PREFIX, ConversionError, check_fit

ALGO_PREFIX = 'architecture.'
BN_REINIT = 'bn_affine: supernet BN is affine=False -> weight 1, bias 0'
HEAD_SHAPE = 'classifier: shape differs from the search classifier'
HEAD_FEATURE = ('classifier: the subnet has no terminal conv, so the '
                'search classifier saw another feature')
HEAD_ABSENT = 'classifier: not in the search checkpoint'


@dataclass
class ConversionReport:
    """What a conversion did.

    Attributes:
        inherited (list[str]): Subnet keys copied from the supernet.
        reinitialised (dict[str, list[str]]): Reason -> subnet keys left at
            their initial values.
        unused (int): Supernet tensors not used by this subnet.
    """
    inherited: List[str] = field(default_factory=list)
    reinitialised: Dict[str, List[str]] = field(default_factory=dict)
    unused: int = 0

    def summary(self, verbose: bool = False) -> str:
        """Human-readable one-paragraph summary.

        Args:
            verbose (bool): Also list every re-initialised key, by reason.
        """
        lines = [
            f'inherited {len(self.inherited)} tensors from the supernet'
            f' ({self.unused} supernet tensors unused)'
        ]
        for reason, keys in self.reinitialised.items():
            lines.append(f're-initialised {len(keys)} tensors ({reason})')
        if verbose:
            for reason, keys in self.reinitialised.items():
                lines.append(f'{reason}:')
                lines += [f'  {key}' for key in keys]
        return '\n'.join(lines)


def _is_bn_affine(key: str, keys: Set[str]) -> bool:
    owner, _, leaf = key.rpartition('.')
    return leaf in ('weight', 'bias') and f'{owner}.running_mean' in keys


def convert_state_dict(search_state: Dict[str, Tensor],
                       arch: DerivedArch,
                       template: Dict[str, Tensor],
                       supernet: Optional[Dict[str, Tensor]] = None,
                       source: str = '<search state>'
                       ) -> Tuple[Dict[str, Tensor], ConversionReport]:
    """Fill a subnet classifier's ``template`` state from the supernet.

    Args:
        search_state (dict): State dict of the search algorithm.
        arch (DerivedArch): Derived architecture with supernet coordinates.
        template (dict): ``state_dict()`` of the freshly initialised subnet
            classifier; the result has exactly its keys and shapes.
        supernet (dict, optional): The supernet tensors if
            :func:`~.arch_fit.check_fit` was run already (else it runs).
        source (str): Name of the checkpoint for messages.

    Returns:
        tuple[dict, ConversionReport]: The subnet state and the report.
    """
    if supernet is None:
        supernet = check_fit(arch, search_state, source)
    report = ConversionReport()
    template_keys = set(template)
    used = set()
    out: Dict[str, Tensor] = {}

    def reinit(key: str, value: Tensor, reason: str) -> None:
        out[key] = value
        report.reinitialised.setdefault(reason, []).append(key)

    for key, tmpl in template.items():
        if key.startswith('backbone.'):
            sub = key[len('backbone.'):]
            try:
                skey = subnet_to_supernet_key(sub, arch)
            except ValueError as err:
                raise ConversionError(str(err)) from None
            if skey in supernet:
                value = supernet[skey]
                if value.shape != tmpl.shape:
                    raise ConversionError(
                        f'the architecture does not fit the supernet: '
                        f'{key} has shape {tuple(tmpl.shape)} but '
                        f'{SUPERNET_PREFIX}{skey} has {tuple(value.shape)}')
                out[key] = value.detach().clone()
                report.inherited.append(key)
                used.add(SUPERNET_PREFIX + skey)
            elif _is_bn_affine(key, template_keys):
                fill = torch.ones_like if key.endswith('weight') else \
                    torch.zeros_like
                reinit(key, fill(tmpl), BN_REINIT)
            else:
                raise ConversionError(
                    f'the supernet has no tensor {SUPERNET_PREFIX}{skey} for '
                    f'subnet key {key}; the checkpoint is incomplete or from '
                    'another search space')
            continue
        skey = ALGO_PREFIX + key
        if skey not in search_state:
            reinit(key, tmpl.clone(), HEAD_ABSENT)
        elif arch.last_dim is None:
            reinit(key, tmpl.clone(), HEAD_FEATURE)
        elif search_state[skey].shape != tmpl.shape:
            reinit(key, tmpl.clone(), HEAD_SHAPE)
        else:
            out[key] = search_state[skey].detach().clone()
            report.inherited.append(key)
            used.add(skey)
    report.unused = sum(1 for k in search_state
                        if k.startswith(ALGO_PREFIX) and k not in used)
    return out, report


def subnet_classifier(arch: DerivedArch,
                      num_classes: Optional[int] = None,
                      config: Optional[Union[str, Config]] = None
                      ) -> nn.Module:
    """The (initialised, eval-mode) subnet classifier of ``arch``.

    With ``config`` the model of that config is built, its backbone's
    ``arch`` replaced by ``arch``. Without it: an mmcls ``ImageClassifier``
    of a DenseNASNet, global average pooling and a ``LinearClsHead`` with
    ``num_classes`` outputs on the subnet's feature width.
    """
    from densenas_mm.apis.model_io import build_classifier, load_config
    if config is not None:
        cfg = load_config(config)
        backbone = cfg.model.get('backbone', {})
        if 'DenseNASNet' not in str(backbone.get('type', '')):
            raise ConversionError(
                f'{config}: model.backbone.type is '
                f'{backbone.get("type")!r}; expected DenseNASNet')
        backbone['arch'] = arch.to_dict()
        return build_classifier(cfg)
    if num_classes is None:
        raise ConversionError('the subnet classifier needs num_classes or a '
                              'subnet config')
    return build_classifier(
        Config(
            dict(
                default_scope='mmcls',
                model=dict(
                    type='mmcls.ImageClassifier',
                    backbone=dict(
                        type='densenas_mm.DenseNASNet', arch=arch.to_dict()),
                    neck=dict(type='mmcls.GlobalAveragePooling'),
                    head=dict(
                        type='mmcls.LinearClsHead',
                        num_classes=int(num_classes),
                        in_channels=arch.out_channels)))))


def build_subnet_template(arch: DerivedArch,
                          search_state: Dict[str, Tensor],
                          config: Optional[str] = None) -> Dict[str, Tensor]:
    """State dict of the subnet classifier the checkpoint is meant for.

    With ``config`` the model of that config (:func:`subnet_classifier`).
    Without it, a DenseNASNet plus the search checkpoint's classifier layout
    (an mmcls ``LinearClsHead`` ``head.fc``), resized to the subnet's
    feature width.
    """
    num_classes = None
    if config is None:
        weight = search_state.get(ALGO_PREFIX + 'head.fc.weight')
        if weight is None:
            raise ConversionError(
                'the search checkpoint has no architecture.head.fc.weight; '
                'pass --config SUBNET_CONFIG to say which classifier to '
                'build')
        num_classes = weight.shape[0]
    return subnet_classifier(arch, num_classes, config).state_dict()


def convert_checkpoint(search_ckpt: str,
                       arch: Union[str, dict, DerivedArch],
                       out_ckpt: str,
                       config: Optional[str] = None) -> ConversionReport:
    """Write a standalone subnet checkpoint from a search checkpoint.

    Args:
        search_ckpt (str): Checkpoint of the DenseNAS search algorithm.
        arch (str | dict | DerivedArch): The derived architecture (YAML).
        out_ckpt (str): Output path (written atomically).
        config (str, optional): Subnet config the checkpoint is for.

    Returns:
        ConversionReport: What was inherited and re-initialised.

    Raises:
        CheckpointError: For unreadable checkpoints.
        ConversionError: For archs that do not fit (a ``CheckpointError``).
    """
    try:
        arch = DerivedArch.load(arch)
    except ArchError as err:
        raise ConversionError(f'invalid architecture: {err}') from None
    search_state = load_state_dict(search_ckpt)
    supernet = check_fit(arch, search_state, search_ckpt)
    try:
        template = build_subnet_template(arch, search_state, config)
    except ArchError as err:
        raise ConversionError(f'{config}: {err}') from None
    state, report = convert_state_dict(search_state, arch, template,
                                       supernet, search_ckpt)
    meta = dict(
        densenas_arch=arch.to_dict(),
        converted_from=os.path.abspath(search_ckpt),
        subnet_config=config,
        inherited=len(report.inherited),
        reinitialised={
            k: v
            for k, v in report.reinitialised.items()
        },
        time=time.strftime('%Y-%m-%d %H:%M:%S'))
    save_checkpoint_atomic(dict(state_dict=state, meta=meta), out_ckpt)
    return report


def convert_and_report(search_ckpt: str,
                       arch: Union[str, dict, DerivedArch],
                       out_ckpt: str,
                       config: Optional[str] = None,
                       verbose: bool = False) -> str:
    """:func:`convert_checkpoint` and its report as text
    (``tools/model_converters/supernet_to_subnet.py``'s job).

    Args:
        search_ckpt (str): Checkpoint of the search run.
        arch (str | dict | DerivedArch): The derived architecture.
        out_ckpt (str): Subnet checkpoint to write.
        config (str, optional): Subnet config the checkpoint is for.
        verbose (bool): List every re-initialised key.

    Returns:
        str: The summary and the ``wrote`` line.
    """
    report = convert_checkpoint(search_ckpt, arch, out_ckpt, config=config)
    return f'{report.summary(verbose)}\nwrote {out_ckpt}'
