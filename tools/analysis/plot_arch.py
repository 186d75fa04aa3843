"""Pictures of a DenseNAS search from a checkpoint or an architecture YAML.

From a search checkpoint (with its config): the supernet graph with the
derived path and edge widths by p_ij, softmax(alpha) heatmaps, softmax(beta)
bars, and -- with ``--history`` (the ``vis/history.json`` that
DenseNASVisualizationHook writes from the search loop's epoch records) --
the search curves, the same series as the hook's ``curves.png``. From a
derived-architecture YAML (with a config holding its search space): the
supernet graph with the path and its ops.

Examples:
    python tools/analysis/plot_arch.py \
        configs/densenas/densenas_supernet-demo_1xb32-20e_digits.py \
        --checkpoint work_dirs/demo/search/epoch_20.pth \
        --history work_dirs/demo/search/vis/history.json \
        --out-dir work_dirs/demo/plots
    python tools/analysis/plot_arch.py \
        configs/_base_/search_spaces/densenas_demo_32.py \
        --arch work_dirs/demo/search/arch/last.yaml --out-dir plots
"""
# densenas_mm first: its compat fixes must precede any mmrazor import.
import densenas_mm  # noqa: F401  # isort: skip

import argparse
import sys

from densenas_mm.apis.arch_plots import plot_arch


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='search config (or any config with '
                        'a search_space)')
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument('--checkpoint', help='search checkpoint (.pth)')
    src.add_argument('--arch', help='derived architecture YAML')
    parser.add_argument('--history', help='the search\'s vis/history.json '
                        '(written by DenseNASVisualizationHook) for the '
                        'curves')
    parser.add_argument('--warmup-epochs', type=int,
                        help='marks the end of warm-up on the curves '
                        '(default: the warm-up rows of the history)')
    parser.add_argument('--out-dir', default='.', help='where PNGs go')
    parser.add_argument('--prefix', default='', help='file name prefix')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    """Entry point: write the pictures, print what was written."""
    args = parse_args(argv)
    print(plot_arch(**vars(args)))
    return 0


if __name__ == '__main__':
    from densenas_mm.apis.cli import run_cli
    sys.exit(run_cli(main))
