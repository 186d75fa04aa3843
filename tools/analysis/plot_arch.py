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
import os.path as osp
import sys


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
    args = parse_args(argv)
    from densenas_mm.search_space import search_space_from_cfg
    from densenas_mm.visualization import (arch_state_from_arch,
                                           arch_state_from_state_dict,
                                           plot_alphas, plot_betas,
                                           plot_curves, plot_supernet,
                                           read_history, save_figure,
                                           warmup_epochs)
    from densenas_mm.utils.checkpoint import read_checkpoint, state_of
    from densenas_mm.utils.io import prepare_output_dir
    space = search_space_from_cfg(args.config)
    prepare_output_dir(args.out_dir, '--out-dir')
    out = lambda name: osp.join(args.out_dir, args.prefix + name)  # noqa
    written = []
    if args.checkpoint:
        # weights_only with mmengine's allow-list: reading runs no code
        ckpt = read_checkpoint(args.checkpoint)
        state = arch_state_from_state_dict(
            space, state_of(ckpt, args.checkpoint))
        epoch = ckpt.get('meta', {}).get('epoch')
        tag = f' (epoch {epoch})' if epoch is not None else ''
        save_figure(plot_supernet(state, title=f'derived path {state.path}'
                                  f'{tag}; edge width = p_ij'),
                    out('supernet.png'))
        save_figure(plot_alphas(state), out('alphas.png'))
        save_figure(plot_betas(state), out('betas.png'))
        written += ['supernet.png', 'alphas.png', 'betas.png']
    else:
        from densenas_mm.structures import DerivedArch
        arch = DerivedArch.load(args.arch)
        state = arch_state_from_arch(space, arch)
        save_figure(plot_supernet(state, title=f'{osp.basename(args.arch)}:'
                                  f' path {state.path}', show_probs=False),
                    out('supernet.png'))
        written.append('supernet.png')
    if args.history:
        history = read_history(args.history)
        warmup = (args.warmup_epochs if args.warmup_epochs is not None else
                  warmup_epochs(history))
        save_figure(plot_curves(history, warmup), out('curves.png'))
        written.append('curves.png')
    print(f'derived path {state.path}; ops: '
          + '; '.join(f'{n}: {h} {s}' for n, (h, s) in state.ops.items()))
    for name in written:
        print(f'wrote {out(name)}')
    return 0


if __name__ == '__main__':
    from densenas_mm.apis.cli import run_cli
    sys.exit(run_cli(main))
