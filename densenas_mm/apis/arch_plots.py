"""The pictures tool's job (``tools/analysis/plot_arch.py``): the supernet
graph with the derived path, alpha / beta plots of a search checkpoint and
the search curves of a history, written as PNGs."""
import os.path as osp
from typing import Any, List, Optional

from densenas_mm.search_space import search_space_from_cfg
from densenas_mm.structures import DerivedArch
from densenas_mm.utils.checkpoint import read_checkpoint, state_of
from densenas_mm.utils.io import prepare_output_dir
from densenas_mm.visualization import (arch_state_from_arch,
                                       arch_state_from_state_dict,
                                       plot_alphas, plot_betas, plot_curves,
                                       plot_supernet, read_history,
                                       save_figure)
from densenas_mm.visualization import warmup_epochs as history_warmup


def plot_arch(config: Any,
              checkpoint: Optional[str] = None,
              arch: Optional[str] = None,
              history: Optional[str] = None,
              warmup_epochs: Optional[int] = None,
              out_dir: str = '.',
              prefix: str = '') -> str:
    """Write the pictures of a search checkpoint or a derived architecture.

    Args:
        config (str | Config): A config holding the search space.
        checkpoint (str, optional): A search checkpoint: supernet graph
            (edge widths by p_ij), ``alphas.png``, ``betas.png``.
        arch (str, optional): A derived-architecture YAML (used without
            ``checkpoint``): the supernet graph with its path and ops.
        history (str, optional): The search's ``vis/history.json``: also
            ``curves.png``.
        warmup_epochs (int, optional): End of warm-up on the curves
            (default: the warm-up rows of the history).
        out_dir (str): Where the PNGs go (created).
        prefix (str): File name prefix.

    Returns:
        str: The derived path and ops, then one ``wrote`` line per file.
    """
    space = search_space_from_cfg(config)
    out_dir = prepare_output_dir(out_dir, '--out-dir')
    written: List[str] = []

    def save(figure, name: str) -> None:
        save_figure(figure, osp.join(out_dir, prefix + name))
        written.append(osp.join(out_dir, prefix + name))

    if checkpoint:
        # weights_only with mmengine's allow-list: reading runs no code
        ckpt = read_checkpoint(checkpoint)
        state = arch_state_from_state_dict(space, state_of(ckpt, checkpoint))
        epoch = ckpt.get('meta', {}).get('epoch')
        tag = f' (epoch {epoch})' if epoch is not None else ''
        save(plot_supernet(state, title=f'derived path {state.path}{tag}; '
                           'edge width = p_ij'), 'supernet.png')
        save(plot_alphas(state), 'alphas.png')
        save(plot_betas(state), 'betas.png')
    else:
        state = arch_state_from_arch(space, DerivedArch.load(arch))
        save(plot_supernet(state, title=f'{osp.basename(arch)}: path '
                           f'{state.path}', show_probs=False), 'supernet.png')
    if history:
        rows = read_history(history)
        warmup = (warmup_epochs if warmup_epochs is not None else
                  history_warmup(rows))
        save(plot_curves(rows, warmup), 'curves.png')
    lines = [
        f'derived path {state.path}; ops: ' +
        '; '.join(f'{n}: {h} {s}' for n, (h, s) in state.ops.items())
    ]
    return '\n'.join(lines + [f'wrote {path}' for path in written])
