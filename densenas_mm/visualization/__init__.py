"""Pictures of a DenseNAS search: supernet graph, alphas, betas, curves."""
from .arch_data import (ArchState, arch_state, arch_state_from_arch,
                        arch_state_from_mutator, arch_state_from_params,
                        arch_state_from_state_dict, edge_probs, graph_layout,
                        read_history, warmup_epochs)
from .front_plot import plot_front
from .plots import (plot_alphas, plot_betas, plot_curves, plot_supernet,
                    save_figure)

__all__ = [
    'ArchState', 'arch_state', 'arch_state_from_arch',
    'arch_state_from_mutator', 'arch_state_from_params',
    'arch_state_from_state_dict', 'edge_probs', 'graph_layout',
    'read_history', 'warmup_epochs', 'plot_alphas', 'plot_betas',
    'plot_curves', 'plot_front', 'plot_supernet', 'save_figure'
]
