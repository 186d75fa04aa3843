"""Plot data and pictures of densenas_mm.visualization."""
import json
import os.path as osp
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from matplotlib.patches import FancyArrowPatch, Rectangle

from densenas_mm.engine.runner import EpochRecord
from densenas_mm.search_space import SearchSpace, search_space_from_cfg
from densenas_mm.search_space.naming import route_alias
from densenas_mm.structures import DerivedArch, viterbi_path
from densenas_mm.visualization import (arch_state, arch_state_from_arch,
                                       arch_state_from_mutator,
                                       arch_state_from_params,
                                       arch_state_from_state_dict,
                                       edge_probs, graph_layout,
                                       plot_alphas, plot_betas, plot_curves,
                                       plot_supernet, read_history,
                                       save_figure, warmup_epochs)
from densenas_mm.visualization.plots import PATH_COLOR, edge_widths

from helpers import REPO_ROOT as ROOT
from helpers.tools import load_tool
SEARCH_CFG = osp.join(ROOT, 'configs/densenas/'
                      'densenas_supernet-demo_1xb32-20e_digits.py')
EXAMPLE_ARCH = osp.join(ROOT, 'configs/densenas/subnets/archs/'
                        'densenas_demo_32_example.yaml')


@pytest.fixture(scope='module')
def space() -> SearchSpace:
    return search_space_from_cfg(SEARCH_CFG)


@pytest.fixture(scope='module')
def mutator():
    """The demo search's mutator with seeded random alphas/betas."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from densenas_mm.registry import MODELS
    cfg = Config.fromfile(SEARCH_CFG)
    init_default_scope('mmcls')
    cfg.model.estimator = None
    cfg.model.cost_loss = None
    algo = MODELS.build(cfg.model)
    gen = torch.Generator().manual_seed(3)
    for p in algo.mutator.arch_params.values():
        p.data.copy_(torch.randn(p.shape, generator=gen) * 2)
    return algo.mutator


def red_arrows(fig):
    ax = fig.axes[0]
    return [
        p for p in ax.patches if isinstance(p, FancyArrowPatch)
        and np.allclose(p.get_edgecolor()[:3],
                        matplotlib_rgb(PATH_COLOR))
    ]


def matplotlib_rgb(color):
    from matplotlib.colors import to_rgb
    return to_rgb(color)


def test_state_from_mutator_matches_mutator(mutator):
    state = arch_state_from_mutator(mutator)
    assert state.path == mutator.derive_path()
    # the drawn probabilities give the drawn path (log p are logits of p)
    logp = {route_alias(src): np.log(p) for src, p in state.route_probs.items()}
    assert viterbi_path(state.graph, logp) == state.path
    arch = mutator.derive()
    for block in arch.blocks:
        head, stack = state.ops[block.node]
        assert head == block.head_op and stack == block.stack_ops
    for alias, beta in mutator.betas().items():
        src = int(alias[len('route'):])
        expected = torch.softmax(beta.detach(), 0).numpy()
        np.testing.assert_allclose(state.route_probs[src], expected,
                                   rtol=1e-5)
    # Outgoing p of every multi-target source sums to 1.
    p = state.edge_probs()
    for src, probs in state.route_probs.items():
        total = sum(p[(src, d)] for d in state.graph.outgoing[src])
        assert total == pytest.approx(1.0)
    ent = state.mean_entropy()
    assert 0 < ent['alpha_entropy'] < np.log(3)
    assert ent == pytest.approx(mutator.entropy(), rel=1e-5)


def test_state_from_state_dict(mutator, space):
    sd = {f'module.mutator._arch_params.{k}': v.detach().clone()
          for k, v in mutator.arch_params.items()}
    sd['architecture.head.fc.weight'] = torch.zeros(2)
    state = arch_state_from_state_dict(space, sd)
    assert state.path == mutator.derive_path()
    with pytest.raises(ValueError, match='arch_params'):
        arch_state_from_state_dict(space, {'a.weight': torch.zeros(1)})


def test_wrong_space_is_refused(space):
    with pytest.raises(ValueError, match='outgoing edges'):
        arch_state_from_params(space, {'route01': [0.0] * 9})


def test_state_from_arch_is_one_hot(space):
    arch = DerivedArch.load(EXAMPLE_ARCH)
    state = arch_state_from_arch(space, arch)
    assert state.path == [0, 1, 2, 4, 6, 7]
    assert state.ops[2] == ('mbconv_k3_t6', ['mbconv_k5_t3'])
    assert state.ops[4] == ('mbconv_k5_t3', [])  # the skip is dropped
    p = state.edge_probs()
    for edge in state.path_edges():
        assert p[edge] == pytest.approx(1.0)
    assert p[(1, 3)] == pytest.approx(0.0, abs=1e-9)


def test_layout_by_stage(space, mutator):
    graph = mutator.graph
    pos = graph_layout(graph)
    assert set(pos) == set(graph.nodes)
    for a in graph.nodes:
        for b in graph.nodes:
            same_col = pos[a][0] == pos[b][0]
            assert same_col == (graph.stages[a] == graph.stages[b])
    assert len(set(pos.values())) == len(pos)  # no overlapping nodes


def test_edge_widths_grow_with_p():
    w = edge_widths([0.0, 0.5, 1.0])
    assert w[0] < w[1] < w[2] and w[2] == pytest.approx(7.0)


def test_supernet_picture_highlights_the_path(mutator, tmp_path):
    state = arch_state_from_mutator(mutator)
    fig = plot_supernet(state)
    arrows = [p for p in fig.axes[0].patches
              if isinstance(p, FancyArrowPatch)]
    assert len(arrows) == len(state.graph.edges)
    assert len(red_arrows(fig)) == len(state.path) - 1
    widths = {round(a.get_linewidth(), 6) for a in arrows}
    assert len(widths) > 2  # widths follow p_ij
    out = tmp_path / 'supernet.png'
    rgb = save_figure(fig, str(out))
    assert out.stat().st_size > 5000
    assert rgb.ndim == 3 and rgb.shape[2] == 3
    assert out.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'


def test_alpha_heatmaps(mutator, tmp_path):
    state = arch_state_from_mutator(mutator)
    fig = plot_alphas(state)
    heads, layers = fig.axes[0], fig.axes[1]
    data = heads.images[0].get_array()
    assert data.shape == (len(state.head_rows()), 3)
    np.testing.assert_allclose(data.sum(1), 1.0, rtol=1e-6)
    boxes = [p for p in heads.patches if isinstance(p, Rectangle)]
    assert len(boxes) == len(state.head_rows())  # one argmax per row
    assert layers.images[0].get_array().shape[0] == len(state.layer_rows())
    marked = [t.get_text() for t in heads.get_yticklabels()
              if t.get_text().startswith('*')]
    assert len(marked) == len(state.path) - 2  # one head per chosen block
    out = tmp_path / 'alphas.png'
    save_figure(fig, str(out))
    assert out.stat().st_size > 5000


def test_beta_bars(mutator, tmp_path):
    state = arch_state_from_mutator(mutator)
    fig = plot_betas(state)
    bars = fig.axes[0].patches
    assert len(bars) == sum(len(state.graph.outgoing[s])
                            for s in state.route_probs)
    red = [b for b in bars
           if np.allclose(b.get_facecolor()[:3], matplotlib_rgb(PATH_COLOR))]
    on_path_sources = [s for s in state.path if s in state.route_probs]
    assert len(red) == len(on_path_sources)
    save_figure(fig, str(tmp_path / 'betas.png'))
    assert (tmp_path / 'betas.png').stat().st_size > 3000


def test_curves_and_history_file(tmp_path):
    rows = [
        dict(epoch=1, phase='warmup', train_loss=1.5, train_acc=20.0,
             val_top1=40.0, alpha_entropy=1.1),
        dict(epoch=2, phase='search', train_loss=1.0, train_acc=30.0,
             arch_ce=1.0, expected_latency=3.0, derived_latency=2.5,
             val_top1=45.0, alpha_entropy=1.0),
    ]
    assert warmup_epochs(rows) == 1 and warmup_epochs(rows[1:]) is None
    fig = plot_curves(rows, warmup_epochs=1)
    assert len(fig.axes) == 4
    n_lines = sum(len([ln for ln in ax.lines if ln.get_label()[0] != '_'])
                  for ax in fig.axes)
    assert n_lines == 7  # every key given above (beta entropy missing)
    save_figure(fig, str(tmp_path / 'curves.png'))
    assert (tmp_path / 'curves.png').stat().st_size > 5000
    path = tmp_path / 'history.json'
    path.write_text(json.dumps(rows))
    assert read_history(str(path)) == rows
    path.write_text(json.dumps({'loss': 1.0}))
    with pytest.raises(ValueError, match='not a search history'):
        read_history(str(path))


def _record(mutator, epoch, phase, loss):
    return EpochRecord(
        epoch=epoch,
        phase=phase,
        arch=mutator.derive(),
        alpha_entropy=1.0,
        beta_entropy=0.5,
        weight_means=dict(loss=loss, acc_top1=50.0))


def test_hook_writes_pictures_and_history(mutator, tmp_path):
    from densenas_mm.engine.hooks import DenseNASVisualizationHook
    images = []
    loop = SimpleNamespace(max_epochs=3, latest_record=None)
    runner = SimpleNamespace(
        model=SimpleNamespace(mutator=mutator), epoch=0,
        work_dir=str(tmp_path), train_loop=loop,
        visualizer=SimpleNamespace(
            add_image=lambda name, img, step: images.append((name, step))))
    hook = DenseNASVisualizationHook(interval=2)
    hook.before_train(runner)
    loop.latest_record = _record(mutator, 1, 'warmup', 1.5)
    hook.after_train_epoch(runner)  # epoch 1: curves only
    runner.epoch = 1
    hook.after_val_epoch(runner, {'accuracy/top1': 55.0})
    vis = tmp_path / 'vis'
    assert (vis / 'curves.png').stat().st_size > 0
    assert not (vis / 'supernet.png').exists()
    loop.latest_record = _record(mutator, 2, 'search', 1.0)
    hook.after_train_epoch(runner)  # epoch 2: interval
    for name in ('supernet_epoch_2.png', 'alphas_epoch_2.png',
                 'betas_epoch_2.png', 'supernet.png', 'alphas.png',
                 'betas.png'):
        assert (vis / name).stat().st_size > 0, name
    rows = json.loads((vis / 'history.json').read_text())
    assert [r['epoch'] for r in rows] == [1, 2]
    assert rows[0]['train_loss'] == pytest.approx(1.5)
    assert rows[0]['val_top1'] == pytest.approx(55.0)
    assert [r['phase'] for r in rows] == ['warmup', 'search']
    assert warmup_epochs(rows) == 1
    assert rows[1]['path'] == mutator.derive_path()
    assert ('densenas_supernet', 2) in images
    # plot_arch.py draws the same curves from that file: one source
    tool = load_tool('analysis/plot_arch.py')
    assert tool.main([SEARCH_CFG, '--arch', EXAMPLE_ARCH, '--history',
                      str(vis / 'history.json'), '--out-dir',
                      str(tmp_path / 'plots')]) == 0
    import matplotlib.image as mpimg
    assert np.array_equal(mpimg.imread(str(vis / 'curves.png')),
                          mpimg.imread(str(tmp_path / 'plots/curves.png')))
    # resume at epoch 1 keeps only the first row
    hook2 = DenseNASVisualizationHook()
    runner.epoch = 1
    hook2.before_train(runner)
    assert [r['epoch'] for r in hook2.history] == [1]
    with pytest.raises(ValueError):
        DenseNASVisualizationHook(interval=0)
    # without the search loop's records the hook says what it needs
    runner.train_loop = SimpleNamespace(max_epochs=3)
    with pytest.raises(TypeError, match='DenseNASSearchLoop'):
        hook.after_train_epoch(runner)


def test_state_draws_the_given_arch(mutator, space):
    """The hook passes the loop's derived arch: the picture shows it even
    where the current params would derive another one."""
    arch = DerivedArch.load(EXAMPLE_ARCH)
    state = arch_state(space, dict(mutator.arch_params), arch)
    assert state.path == [0, 1, 2, 4, 6, 7] != mutator.derive_path()
    assert state.ops[2] == ('mbconv_k3_t6', ['mbconv_k5_t3'])
