"""Turn a DenseNAS search checkpoint into a standalone subnet checkpoint.

The derived architecture (the YAML the search writes) says which supernet
edge, ops and layers each block came from; their weights (and BN running
statistics) are copied to the keys of an mmcls ImageClassifier with a
DenseNASNet backbone. Affine BN weight/bias start at 1/0 (the supernet's BN
is affine=False); the classifier is inherited when its shape matches and the
subnet keeps the terminal conv, re-initialised otherwise. The output loads
with no missing / unexpected keys, e.g. via ``load_from`` in a retrain
config or ``tools/test.py``.

Example:
    SEARCH=work_dirs/densenas_supernet-mbv2_4xb88-150e_in100
    python tools/model_converters/supernet_to_subnet.py \
        $SEARCH/epoch_150.pth $SEARCH/arch/best.yaml \
        work_dirs/subnet_init.pth \
        --config configs/densenas/subnets/densenas_subnet-mbv2_8xb128-240e_in1k.py
"""
# densenas_mm first: its compat fixes must precede any mmrazor import.
import densenas_mm  # noqa: F401  # isort: skip

import argparse
import sys
from typing import List, Optional

from densenas_mm.apis.cli import run_cli
from densenas_mm.apis.conversion import convert_and_report


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Command line."""
    parser = argparse.ArgumentParser(
        description='DenseNAS supernet -> subnet checkpoint')
    parser.add_argument('search_ckpt', help='checkpoint of the search run')
    parser.add_argument('arch', help='derived architecture YAML')
    parser.add_argument('out_ckpt', help='subnet checkpoint to write')
    parser.add_argument(
        '--config',
        help='subnet config the checkpoint is for (its classifier decides '
        'num_classes); without it the search classifier layout is kept')
    parser.add_argument(
        '--verbose', action='store_true', help='list every re-initialised key')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point; returns the exit status (0 ok, 1 refused)."""
    args = parse_args(argv)
    return run_cli(lambda: print(convert_and_report(**vars(args))))


if __name__ == '__main__':
    sys.exit(main())
