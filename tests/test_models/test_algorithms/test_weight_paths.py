"""DenseNAS(weight_paths='sampled'): weight steps on one sampled path."""
import pytest
import torch
from helpers.search import (active_sets, build_algorithm, build_optim, changed,
                            fake_batch, split_params)
from mmengine.config import Config

from densenas_mm.models.algorithms import search_batch, step_seed
from densenas_mm.registry import MODELS
from helpers.search import DEMO_CONFIG


@pytest.fixture(autouse=True, scope='module')
def _single_thread(one_cpu_thread):
    """See ``one_cpu_thread`` in tests/conftest.py."""


def _step(algo, optim, phase, seed):
    return algo.train_step(search_batch(fake_batch(), phase, seed), optim)


def _path(algo):
    supernet = algo.mutator.supernet
    edges = supernet.edges_in_play()
    node, path = 0, [0]
    while node != supernet.graph.terminal:
        (node, ) = [d for s, d in edges if s == node]
        path.append(node)
    assert len(edges) == len(path) - 1  # one path, nothing else
    return path


@pytest.mark.parametrize('phase', ['warmup', 'weight'])
def test_a_weight_step_trains_one_path(phase):
    algo = build_algorithm(seed=0, weight_paths='sampled')
    optim = build_optim(algo)
    algo.train()
    before = split_params(algo)
    _step(algo, optim, phase, seed=7)
    after = split_params(algo)
    path = _path(algo)
    assert changed(before['arch'], after['arch']) == []
    moved = changed(before['weights'], after['weights'])
    blocks = {int(n.split('.blocks.b')[1][:2]) for n in moved if '.blocks.b' in n}
    assert blocks == set(path[1:-1])
    # into each block on the path exactly one head op moved
    for node, nxt in zip(path, path[1:-1]):
        heads = {n.split('.heads.')[1].split('.')[0] for n in moved
                 if f'.blocks.b{nxt:02d}.heads.' in n}
        assert heads == {f'from{node:02d}'}, (nxt, heads)
    terminal = {n.split('.terminal.')[1].split('.')[0] for n in moved
                if '.terminal.' in n}
    assert terminal == {f'from{path[-2]:02d}'}


def test_same_seed_same_path_on_every_call():
    """The path is a function of the step's seed (equal on every rank,
    replayed on resume)."""
    paths = []
    for _ in range(2):
        algo = build_algorithm(seed=1, weight_paths='sampled')
        optim = build_optim(algo)
        runs = []
        for k in range(3):
            _step(algo, optim, 'weight', step_seed(0, 'weight', 0, k))
            runs.append(_path(algo))
        paths.append(runs)
    assert paths[0] == paths[1]
    assert len({tuple(p) for p in paths[0]}) > 1  # seeds differ per step


def test_arch_steps_and_the_cost_are_unchanged():
    """An arch step runs every route weighted, as in the faithful mode, and
    gives the same loss and expected cost from the same state."""
    results = []
    for mode in ('all', 'sampled'):
        algo = build_algorithm(seed=2, weight_paths=mode)
        optim = build_optim(algo)
        logs = _step(algo, optim, 'arch', seed=3)
        edges = algo.mutator.supernet.edges_in_play()
        results.append((float(logs['arch_loss'].detach()),
                        float(logs['arch_expected_cost']), len(edges)))
    assert results[0] == results[1]
    graph = build_algorithm(seed=2).mutator.graph
    assert results[0][2] == sum(
        len(graph.in_edges(j)) for j in range(1, graph.terminal + 1))


def test_validation_runs_every_path():
    algo = build_algorithm(seed=0, weight_paths='sampled')
    optim = build_optim(algo)
    _step(algo, optim, 'weight', seed=1)
    algo.eval()
    algo.val_step(fake_batch(n=2))
    graph = algo.mutator.graph
    assert len(algo.mutator.supernet.edges_in_play()) == sum(
        len(graph.in_edges(j)) for j in range(1, graph.terminal + 1))


def test_bad_weight_paths_is_refused():
    with pytest.raises(ValueError, match='weight_paths must be one of'):
        build_algorithm(weight_paths='one')


def test_one_cfg_option_switches_the_demo_search():
    cfg = Config.fromfile(DEMO_CONFIG)
    assert cfg.model.get('weight_paths', 'all') == 'all'  # faithful default
    cfg.merge_from_dict({'model.weight_paths': 'sampled'})
    model = dict(cfg.model)
    model['estimator'] = dict(model['estimator'], metric='flops', lut=None)
    algo = MODELS.build(model)
    assert algo.weight_paths == 'sampled'


def _ops_in_play(algo, phase, seed):
    _step(algo, build_optim(algo), phase, seed)
    return active_sets(algo)


def test_uniform_weight_sampling_draws_as_warm_up():
    """weight_sampling='uniform': a search weight step draws the ops the
    warm-up step of the same seed draws, whatever alpha says; the faithful
    'alpha' mode follows a peaked alpha."""
    picks = {}
    for mode in ('alpha', 'uniform'):
        algo = build_algorithm(seed=4, weight_sampling=mode)
        with torch.no_grad():
            for alias in algo.mutator.alphas():  # all mass on op 0
                alpha = algo.mutator.arch_params[alias]
                alpha.fill_(-50.0)
                alpha[0] = 50.0
        picks[mode] = [_ops_in_play(algo, 'weight', s) for s in range(3)]
        picks[f'{mode}_warmup'] = [
            _ops_in_play(algo, 'warmup', s) for s in range(3)
        ]
    searchable = list(picks['alpha'][0])
    assert len(searchable) > 5
    for sets in picks['alpha']:
        assert all(sets[a] == [0] for a in searchable)
    assert picks['uniform'] == picks['uniform_warmup']
    chosen = {sets[a][0] for sets in picks['uniform'] for a in searchable}
    assert len(chosen) > 1


def test_bad_weight_sampling():
    with pytest.raises(ValueError, match='weight_sampling must be one of'):
        build_algorithm(seed=0, weight_sampling='fair')
