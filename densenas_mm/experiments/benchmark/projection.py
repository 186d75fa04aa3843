"""Device-hours of the paper's MobileNetV2 search at a measured step rate.

The paper's search (ImageNet-100, 150 epochs: 50 warm-up epochs of weight
steps, then 100 epochs of one architecture pass over search-val and one
weight pass over search-train; 80/20 split of ~128k images; batch 352 on 4
GPUs) runs

    N_w = 150 x ceil(102,400 / 352) = 43,650 weight steps,
    N_a = 100 x ceil( 25,600 / 352) =  7,300 architecture steps,

so at per-image step times t_w and t_a on one device it takes

    hours = 352 x (N_w x t_w + N_a x t_a) / 3600

device-hours (the work split over the GPUs; data loading, validation and
communication left out). With a benchmark's times, t is its median step
time over its batch size: a projection from that device at that batch, not
a measurement of the search.
"""
import math
from typing import Any, Dict, Optional

#: The space the projection is for (the paper's MobileNetV2-based one).
PAPER_SPACE = 'densenas_mbv2_224'
PAPER_BATCH = 352
SEARCH_TRAIN, SEARCH_VAL = 102_400, 25_600
EPOCHS, WARMUP_EPOCHS = 150, 50
WEIGHT_STEPS = EPOCHS * math.ceil(SEARCH_TRAIN / PAPER_BATCH)
ARCH_STEPS = (EPOCHS - WARMUP_EPOCHS) * math.ceil(SEARCH_VAL / PAPER_BATCH)
#: The paper's search cost of its MobileNetV2-based space (GPU-hours).
PAPER_GPU_HOURS = (64, 92)


def search_hours(t_weight_image: float, t_arch_image: float) -> float:
    """Device-hours of the paper's search at per-image step times (s)."""
    return PAPER_BATCH * (WEIGHT_STEPS * t_weight_image +
                          ARCH_STEPS * t_arch_image) / 3600


def paper_search_projection(results: Dict[str, Dict[str, Dict[str, Any]]],
                            batch_size: int) -> Optional[Dict[str, Any]]:
    """:func:`search_hours` of every setting of a benchmark report, for the
    faithful and the path-sampling weight steps (None without the weight
    and arch cases)."""
    out: Dict[str, Any] = {}
    for setting, res in results.items():
        if 'arch' not in res:
            continue
        t_a = res['arch']['median_s'] / batch_size
        row = {}
        for case in ('weight', 'weight_path'):
            if case in res:
                row[case] = search_hours(res[case]['median_s'] / batch_size,
                                         t_a)
        out[setting] = row
    if not out:
        return None
    return dict(
        hours=out,
        weight_steps=WEIGHT_STEPS,
        arch_steps=ARCH_STEPS,
        paper_batch=PAPER_BATCH,
        paper_gpu_hours=list(PAPER_GPU_HOURS),
        note=('352 x (N_w x t_w + N_a x t_a) / 3600 with this run\'s '
              'per-image step times: a projection from this device and '
              'batch, not a measured search'))
