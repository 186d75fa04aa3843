"""A derived DenseNAS net as a detection backbone: the config snippet an
mmdet / mmseg model needs (``tools/analysis/detection_snippet.py``'s job).

mmdet's necks and heads take the backbone's per-level channels and strides
as separate config values (``FPN.in_channels``, the prior generator's
``strides``); :func:`stage_layout` reads them from the architecture by
building ``DenseNASNet(out_type='stages')`` through the registry, and
:func:`detection_snippet` writes the backbone / neck dicts with them, so
nothing is typed by hand. mmdet itself is not a dependency (docs/subnets.md
says why and how to install it next to this project).
"""
from typing import Any, Dict, List, Optional, Sequence

from .cli import ToolOutput


def stage_layout(arch: Any,
                 out_indices: Optional[Sequence[int]] = None,
                 input_size: Optional[int] = None) -> Dict[str, Any]:
    """Channels and strides of a derived net's stage outputs.

    Args:
        arch (str | dict | DerivedArch): The architecture (YAML path, dict,
            ``DerivedArch`` or a ``net_config`` string).
        out_indices (Sequence[int], optional): Stages to output (default:
            every stage, not the terminal 1x1 conv).
        input_size (int, optional): Input size for the feature sizes
            (default: the architecture's).

    Returns:
        dict: ``out_indices``, ``in_channels`` and ``strides`` of the
        selected outputs, ``num_stages``, ``feature_sizes`` at
        ``input_size`` and the ``backbone`` config dict.
    """
    from densenas_mm.registry import MODELS
    probe = MODELS.build(
        dict(type='densenas_mm.DenseNASNet', arch=arch, out_type='stages'))
    num_stages = len(probe.stage_strides)
    indices = tuple(range(num_stages) if out_indices is None else
                    out_indices)
    backbone = dict(
        type='densenas_mm.DenseNASNet',
        arch=arch if isinstance(arch, str) else probe.arch.to_dict(),
        out_type='stages',
        out_indices=indices)
    net = MODELS.build(dict(backbone))
    size = input_size or net.arch.input_size
    strides = list(net.out_strides)
    return dict(
        out_indices=list(indices),
        in_channels=list(net.out_channels_per_index),
        strides=strides,
        num_stages=num_stages,
        feature_sizes=[-(-size // s) for s in strides],
        input_size=size,
        backbone=backbone)


def fpn_strides(strides: Sequence[int], num_outs: int) -> List[int]:
    """Strides of an mmdet FPN's outputs: the inputs', then each extra
    level (a stride-2 conv or max-pool) doubles the last."""
    out = list(strides[:num_outs])
    while len(out) < num_outs:
        out.append(out[-1] * 2)
    return out


def detection_snippet(arch: str,
                      out_indices: Optional[Sequence[int]] = None,
                      out_channels: int = 256,
                      num_outs: Optional[int] = None,
                      input_size: Optional[int] = None) -> ToolOutput:
    """The mmdet backbone + FPN neck config of a derived net, as text.

    Args:
        arch (str): Architecture YAML (or ``net_config`` string).
        out_indices (Sequence[int], optional): Stages fed to the neck.
        out_channels (int): FPN width.
        num_outs (int, optional): FPN levels (default: one more than the
            stages, as RetinaNet's ``add_extra_convs``).
        input_size (int, optional): For the feature sizes shown.

    Returns:
        ToolOutput: The snippet; the layout (with ``fpn_strides``) in
        ``result``.
    """
    layout = stage_layout(arch, out_indices, input_size)
    levels = num_outs or len(layout['strides']) + 1
    strides = fpn_strides(layout['strides'], levels)
    layout.update(fpn_strides=strides, num_outs=levels)
    backbone = dict(layout['backbone'])
    arch_text = (repr(backbone['arch']) if isinstance(backbone['arch'], str)
                 else '...')
    text = '\n'.join([
        f'# {layout["num_stages"]} stages; selected outputs at '
        f'{layout["input_size"]}x{layout["input_size"]}: channels '
        f'{layout["in_channels"]}, strides {layout["strides"]}, feature '
        f'sizes {layout["feature_sizes"]}',
        'custom_imports = dict(imports=[\'densenas_mm\'], '
        'allow_failed_imports=False)',
        'model = dict(',
        '    backbone=dict(',
        "        type='densenas_mm.DenseNASNet',",
        f'        arch={arch_text},',
        "        out_type='stages',",
        f'        out_indices={tuple(layout["out_indices"])},',
        '        frozen_stages=-1,',
        '        norm_eval=True),',
        '    neck=dict(',
        "        type='FPN',",
        f'        in_channels={layout["in_channels"]},',
        f'        out_channels={out_channels},',
        "        start_level=0, add_extra_convs='on_input',",
        f'        num_outs={levels}),',
        f'    # FPN output strides {strides}: e.g. a RetinaNet head\'s',
        f'    # anchor_generator=dict(strides={strides}, ...)',
        ')',
    ])
    return ToolOutput(0, text, result=layout)
