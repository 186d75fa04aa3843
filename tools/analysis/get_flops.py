"""Params and multiply-adds (MACs) of the classifier a config builds.

Counts like the DenseNAS paper: MACs of convolutions and fully connected
layers only (BN, activations, pooling and additions are not counted);
params are all learnable parameters (BN affine included). The counting is
``densenas_mm.models.estimators.count_complexity`` (mmrazor's counters).

Example:
    python tools/analysis/get_flops.py \
        configs/densenas/subnets/densenas_subnet-c_8xb128-240e_in1k.py --shape 224 224 --per-block
"""
# densenas_mm first: its compat fixes must precede any mmrazor import.
import densenas_mm  # noqa: F401  # isort: skip

import argparse
import sys
from typing import List, Optional

from densenas_mm.apis.cli import add_cfg_options, add_shape, emit, run_cli
from densenas_mm.apis.complexity import complexity_report


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='model config file')
    add_shape(parser)
    parser.add_argument(
        '--per-block', action='store_true', help='one row per block')
    parser.add_argument('--json', help='also write the result as JSON here')
    add_cfg_options(parser)
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> dict:
    """Entry point; returns the counts."""
    output = complexity_report(**vars(parse_args(argv)))
    emit(output)
    return output.result


if __name__ == '__main__':
    sys.exit(run_cli(main))
