"""The depthwise weight gradient per shape: PyTorch's against the grouped
convolution of :mod:`densenas_mm.search_space.depthwise`.

For each kernel, stride and (channels, resolution) of a MobileNetV2-type
space, both weight gradients are computed from the same input and output
gradient, checked against each other, and timed in interleaved rounds on
the calling thread's CPU clock (:func:`densenas_mm.utils.rounds.
time_rounds`). This is the measurement behind
:data:`~densenas_mm.search_space.depthwise.GROUPED_GRAD_MIN_KERNEL`.
"""
from typing import Any, Dict, List, Sequence, Tuple

import torch

from densenas_mm.search_space.depthwise import (GROUPED_GRAD_MIN_KERNEL,
                                                depthwise_weight_grad)
from densenas_mm.utils.rounds import time_rounds
from densenas_mm.utils.timing_stats import summarize

#: (channels, input resolution) of the expanded MBConv inputs of the
#: paper's MobileNetV2 space at 224x224 (expansion 3-6).
MBV2_SHAPES: Tuple[Tuple[int, int], ...] = ((48, 112), (72, 56), (144, 28),
                                            (288, 14), (576, 7))


def native_weight_grad(x: torch.Tensor, grad_out: torch.Tensor,
                       weight: torch.Tensor, stride: int,
                       padding: int) -> torch.Tensor:
    """PyTorch's weight gradient of a depthwise convolution."""
    return torch.ops.aten.convolution_backward(
        grad_out, x, weight, None, [stride, stride], [padding, padding],
        [1, 1], False, [0, 0], weight.shape[0], [False, True, False])[1]


def run(batch_size: int = 8,
        kernels: Sequence[int] = (3, 5, 7),
        strides: Sequence[int] = (1, 2),
        shapes: Sequence[Tuple[int, int]] = MBV2_SHAPES,
        rounds: int = 3,
        repeats: int = 5) -> Dict[str, Any]:
    """Time both weight gradients on every shape.

    Returns:
        dict: ``rows`` (one per shape: medians in ms, ratio grouped /
        native, max relative difference, whether ``'auto'`` picks the
        grouped gradient) and the settings.
    """
    rows: List[Dict[str, Any]] = []
    gen = torch.Generator().manual_seed(0)
    for k in kernels:
        for s in strides:
            for c, h in shapes:
                x = torch.randn(batch_size, c, h, h, generator=gen)
                w = torch.randn(c, 1, k, k, generator=gen)
                p = k // 2
                ho = (h + 2 * p - k) // s + 1
                g = torch.randn(batch_size, c, ho, ho, generator=gen)
                fns = dict(
                    native=lambda: native_weight_grad(x, g, w, s, p),
                    grouped=lambda: depthwise_weight_grad(x, g, k, s, p))
                ref, new = fns['native'](), fns['grouped']()
                diff = float((new - ref).abs().max() /
                             ref.abs().max().clamp_min(1e-30))
                times = time_rounds(
                    fns, rounds, warmup=1, min_repeats=repeats,
                    clock='thread')
                med = {
                    key: summarize([t for r in v for t in r.samples]).median * 1e3
                    for key, v in times.items()
                }
                rows.append(
                    dict(kernel=k, stride=s, channels=c, size=h,
                         native_ms=med['native'], grouped_ms=med['grouped'],
                         ratio=med['grouped'] / med['native'],
                         max_rel_diff=diff,
                         auto_grouped=k >= GROUPED_GRAD_MIN_KERNEL))
    return dict(benchmark='depthwise_grad', batch_size=batch_size,
                rounds=rounds, repeats=repeats,
                threads=torch.get_num_threads(), rows=rows)


def format_report(report: Dict[str, Any]) -> str:
    """The rows as a markdown table."""
    lines = [
        f"batch {report['batch_size']}, {report['threads']} thread(s), "
        f"{report['rounds']} interleaved rounds x {report['repeats']} calls, "
        'thread CPU clock, medians', '',
        '| kernel | stride | channels x size | native ms | grouped ms | '
        'grouped / native | max rel. diff | auto uses grouped |',
        '|---|---|---|---|---|---|---|---|'
    ]
    for r in report['rows']:
        lines.append(
            f"| {r['kernel']} | {r['stride']} | {r['channels']} x "
            f"{r['size']} | {r['native_ms']:.2f} | {r['grouped_ms']:.2f} | "
            f"{r['ratio']:.2f} | {r['max_rel_diff']:.1e} | "
            f"{'yes' if r['auto_grouped'] else 'no'} |")
    return '\n'.join(lines)
