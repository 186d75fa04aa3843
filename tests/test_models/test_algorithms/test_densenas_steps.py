"""One weight step and one architecture step change what they should.

The algorithm is the demo config's DenseNAS (FLOPs cost, real optimiser
wrappers from mmrazor's SeparateOptimWrapperConstructor), driven directly
through ``train_step`` with tagged batches, as the search loop does.
"""
import math

import pytest
import torch
from helpers.search import (active_sets, build_algorithm, build_optim, changed,
                            fake_batch, split_params)

from densenas_mm.models.algorithms import search_batch


@pytest.fixture(autouse=True, scope='module')
def _single_thread(one_cpu_thread):
    """See ``one_cpu_thread`` in tests/conftest.py."""


def _step(algo, optim, phase, seed=1, batch_seed=0):
    return algo.train_step(
        search_batch(fake_batch(seed=batch_seed), phase, seed), optim)


def test_weight_step_moves_only_weights():
    algo = build_algorithm()
    optim = build_optim(algo)
    algo.train()
    before = split_params(algo)
    logs = _step(algo, optim, 'warmup')
    after = split_params(algo)
    assert changed(before['arch'], after['arch']) == []
    moved = changed(before['weights'], after['weights'])
    # the classifier and the stem always run; sampled candidates move,
    # unsampled ones get no gradient (weight decay of SGD needs a grad).
    assert 'architecture.head.fc.weight' in moved
    assert any('stem' in n for n in moved)
    unsampled = [
        n for n in before['weights'] if '_candidates' in n and n not in moved
    ]
    assert unsampled, 'one op per mixed op: other candidates must stay put'
    assert set(logs) >= {'loss', 'acc_top1'}
    assert not any(k.startswith('arch_') for k in logs)
    assert 'loss_cost' not in logs  # no cost term in weight steps


def test_weight_step_samples_one_op_uniform_in_warmup_then_by_alpha():
    algo = build_algorithm()
    optim = build_optim(algo)
    _step(algo, optim, 'warmup')
    assert algo.mutator.mode == 'uniform'
    assert all(len(a) == 1 for a in active_sets(algo).values())
    _step(algo, optim, 'weight')
    assert algo.mutator.mode == 'sample'
    assert all(len(a) == 1 for a in active_sets(algo).values())


def test_arch_step_moves_only_sampled_alphas_and_betas():
    algo = build_algorithm()
    # wd 0 so Adam moves only entries with a gradient (first step: no
    # momentum from earlier steps either)
    optim = build_optim(algo, arch_lr=0.01, arch_wd=0.0)
    algo.train()
    before = split_params(algo)
    logs = _step(algo, optim, 'arch')
    after = split_params(algo)
    assert changed(before['weights'], after['weights']) == []
    mut = algo.mutator
    actives = active_sets(algo)
    assert all(len(a) == 2 for a in actives.values())
    for alias in mut.alphas():
        old, new = before['arch'][alias], after['arch'][alias]
        sampled = actives[alias]
        others = [i for i in range(old.numel()) if i not in sampled]
        assert torch.equal(old[others], new[others]), alias
        assert not torch.equal(old[sampled], new[sampled]), alias
        # Eq. 9: the pair keeps its probability mass
        assert torch.allclose(
            torch.logsumexp(old[sampled], 0),
            torch.logsumexp(new[sampled], 0),
            atol=1e-6)
    for alias in mut.betas():
        assert not torch.equal(before['arch'][alias], after['arch'][alias])
    assert {
        'arch_loss', 'arch_loss_cost', 'arch_expected_cost', 'arch_acc_top1',
        'arch_alpha_entropy', 'arch_beta_entropy'
    } <= set(logs)
    assert all(isinstance(v, torch.Tensor) for v in logs.values())
    n_alpha = [p.numel() for p in mut.alphas().values()]
    max_ent = sum(math.log(n) for n in n_alpha) / len(n_alpha)
    assert 0 < float(logs['arch_alpha_entropy']) <= max_ent + 1e-6


def test_arch_weight_decay_moves_unsampled_alphas_only_slightly():
    algo = build_algorithm()
    optim = build_optim(algo, arch_lr=0.01, arch_wd=1e-3)
    before = split_params(algo)
    _step(algo, optim, 'arch')
    after = split_params(algo)
    actives = active_sets(algo)
    for alias in algo.mutator.alphas():
        others = [
            i for i in range(before['arch'][alias].numel())
            if i not in actives[alias]
        ]
        # Adam: wd * alpha is the only 'gradient' of an unsampled entry, so
        # the first step moves it by about lr * sign(alpha)
        delta = (after['arch'][alias][others] -
                 before['arch'][alias][others]).abs()
        assert float(delta.max()) <= 0.01 * 1.01


def test_no_gradient_leaks_between_steps():
    algo = build_algorithm()
    optim = build_optim(algo, arch_lr=0.01)
    _step(algo, optim, 'weight', seed=1)
    mid = split_params(algo)
    _step(algo, optim, 'arch', seed=2, batch_seed=1)
    after_arch = split_params(algo)
    # the arch step runs the weights forward and backward but steps only the
    # mutator: weights unchanged
    assert changed(mid['weights'], after_arch['weights']) == []
    assert changed(mid['arch'], after_arch['arch'])
    # and the next weight step leaves alpha/beta alone
    _step(algo, optim, 'weight', seed=3, batch_seed=2)
    after_weight = split_params(algo)
    assert changed(after_arch['arch'], after_weight['arch']) == []
    assert changed(after_arch['weights'], after_weight['weights'])


@pytest.mark.parametrize('mode', ['set_to_none', 'in_place'])
@pytest.mark.parametrize('phase', ['weight', 'arch'])
def test_stale_gradients_do_not_leak_into_a_step(phase, mode):
    """Gradient values left on either group (e.g. by the other kind of step)
    must not change the result: a step with stale grads equals a clean one.
    With ``grad_zeroing='in_place'`` a gradient tensor's existence matters
    (its op gets momentum and weight decay, see test_grad_zeroing.py), so
    the clean run there holds zero gradients on the same tensors."""
    results = []
    for stale in (False, True):
        algo = build_algorithm(seed=3, grad_zeroing=mode)
        optim = build_optim(algo, arch_lr=0.01)
        if stale or mode == 'in_place':
            for p in algo.parameters():
                p.grad = torch.full_like(p, 0.5 if stale else 0.0)
        _step(algo, optim, phase, seed=5)
        results.append(split_params(algo))
    clean, dirty = results
    for group in ('weights', 'arch'):
        assert changed(clean[group], dirty[group]) == [], group


def test_weight_step_zeroes_arch_grads_before_backward():
    algo = build_algorithm()
    optim = build_optim(algo)
    for p in algo.mutator.arch_params.values():
        p.grad = torch.full_like(p, 7.0)
    _step(algo, optim, 'warmup')
    for p in algo.mutator.arch_params.values():
        assert p.grad is None or not bool(p.grad.abs().sum())


def test_cost_term_gradient_reaches_alpha_and_beta():
    algo = build_algorithm(loss_weight=1.0, tau=10.0)
    gen = torch.Generator().manual_seed(0)
    algo.mutator.set_sampling('pair', gen, arch_grad=True)
    batch = algo.data_preprocessor(fake_batch(), True)
    losses = algo.loss(batch['inputs'], batch['data_samples'], phase='arch')
    params = list(algo.mutator.arch_params.values())
    grads = torch.autograd.grad(losses['loss_cost'], params, allow_unused=True)
    by_name = dict(zip(algo.mutator.arch_params.keys(), grads))
    betas, alphas = algo.mutator.betas(), algo.mutator.alphas()
    assert all(by_name[k] is not None and bool(by_name[k].abs().sum())
               for k in betas)
    nonzero = [
        k for k in alphas if by_name[k] is not None
        and bool(by_name[k][algo.mutator._ops[k].active].abs().sum())
    ]
    # every sampled pair of ops with different costs gets a cost gradient
    assert len(nonzero) >= len(alphas) - 2
    expected = float(losses['expected_cost'])
    assert float(losses['loss_cost'].detach()) == pytest.approx(
        math.log(expected) / math.log(10.0), rel=1e-5)


def _search_cost(loss_weight, steps=6):
    algo = build_algorithm(loss_weight=loss_weight, tau=2.0, seed=0)
    optim = build_optim(algo, arch_lr=0.05, arch_wd=0.0)
    start = algo.expected_cost()
    for i in range(steps):
        _step(algo, optim, 'arch', seed=100 + i, batch_seed=i)
    return start, algo.expected_cost()


def test_larger_lambda_gives_lower_expected_cost():
    start0, low = _search_cost(0.0)
    start1, high = _search_cost(5.0)
    assert start0 == pytest.approx(start1)  # same init (same seed)
    assert high < low
    assert high < start1


def test_wrong_optim_wrapper_is_a_clear_type_error():
    algo = build_algorithm()
    from mmengine.optim import OptimWrapper
    plain = OptimWrapper(torch.optim.SGD(algo.parameters(), lr=0.1))
    with pytest.raises(
            TypeError,
            match='needs two optimisers.*'
            'SeparateOptimWrapperConstructor'):
        _step(algo, plain, 'weight')


def test_non_finite_loss_stops_before_the_update():
    algo = build_algorithm()
    optim = build_optim(algo)
    with torch.no_grad():
        algo.architecture.head.fc.weight.fill_(float('nan'))
    before = split_params(algo)
    with pytest.raises(
            FloatingPointError, match='non-finite loss.*weight step'):
        _step(algo, optim, 'weight')
    after = split_params(algo)
    assert changed(before['arch'], after['arch']) == []
    same = [
        k for k in before['weights']
        if torch.equal(before['weights'][k].nan_to_num(), after['weights']
                       [k].nan_to_num())
    ]
    assert len(same) == len(before['weights'])


def test_untagged_batch_is_a_weight_step():
    algo = build_algorithm()
    optim = build_optim(algo)
    before = split_params(algo)
    logs = algo.train_step(fake_batch(), optim)
    assert 'loss' in logs
    assert changed(before['arch'], split_params(algo)['arch']) == []


def test_bad_phase_is_rejected():
    with pytest.raises(ValueError, match='phase must be one of'):
        search_batch(fake_batch(), 'search', 0)
    algo = build_algorithm()
    bad = dict(densenas_phase='search', densenas_seed=0, batch=fake_batch())
    with pytest.raises(ValueError, match='unknown step phase'):
        algo.train_step(bad, build_optim(algo))


def test_phase_reaches_the_loss_explicitly():
    """The cost term depends on the phase passed in, not on mutator state."""
    algo = build_algorithm()
    gen = torch.Generator().manual_seed(0)
    algo.mutator.set_sampling('pair', gen, arch_grad=True)
    batch = algo.data_preprocessor(fake_batch(), True)
    arch = algo.loss(batch['inputs'], batch['data_samples'], phase='arch')
    weight = algo.loss(batch['inputs'], batch['data_samples'],
                       phase='weight')
    assert 'loss_cost' in arch and 'expected_cost' in arch
    assert 'loss_cost' not in weight
    # through forward(mode='loss'), as DDP calls it
    via_forward = algo(batch['inputs'], batch['data_samples'], mode='loss',
                       phase='arch')
    assert float(via_forward['expected_cost']) == pytest.approx(
        float(arch['expected_cost']))


def test_expected_cost_query_changes_nothing():
    algo = build_algorithm()
    gen = torch.Generator().manual_seed(0)
    algo.mutator.set_sampling('pair', gen, arch_grad=True)
    actives = active_sets(algo)
    full = algo.expected_cost()
    assert algo.mutator.mode == 'pair' and active_sets(algo) == actives
    # it is the all-ops expectation: what 'all' mode would give
    algo.mutator.set_sampling('all')
    with torch.no_grad():
        assert float(algo.estimator.expected_cost(
            algo.mutator)) == pytest.approx(full, rel=1e-6)
    snap = algo.snapshot()
    assert snap.expected_cost == pytest.approx(full, rel=1e-6)
    assert snap.arch.path == algo.mutator.derive_path()
    assert snap.costs['flops'] > 0


def test_step_seed_is_deterministic_and_phase_specific():
    from densenas_mm.models.algorithms import step_seed
    a = step_seed(0, 'weight', 3, 7)
    # warm-up and search weight steps are one stream: the weight pass
    assert step_seed(0, 'warmup', 3, 7) == a
    assert a == step_seed(0, 'weight', 3, 7)
    assert len({
        a,
        step_seed(0, 'arch', 3, 7),
        step_seed(0, 'weight', 4, 7),
        step_seed(0, 'weight', 3, 8),
        step_seed(1, 'weight', 3, 7)
    }) == 5
    with pytest.raises(ValueError, match='non-negative'):
        step_seed(0, 'weight', -1, 0)


def test_supernet_validation_leaves_the_model_unchanged():
    algo = build_algorithm()
    algo.eval()
    before = {k: v.clone() for k, v in algo.state_dict().items()}
    out = algo.val_step(fake_batch())
    assert len(out) == 8 and out[0].pred_label.score.shape == (10, )
    after = algo.state_dict()
    assert [k for k in before if not torch.equal(before[k], after[k])] == []
    assert not algo.architecture.training  # BN modes restored


def test_channels_last_gives_the_same_steps():
    """The memory-format switch changes strides, not results."""
    results = []
    for channels_last in (False, True):
        algo = build_algorithm(seed=3, channels_last=channels_last)
        optim = build_optim(algo)
        algo.train()
        weight = _step(algo, optim, 'weight', seed=5)
        arch = _step(algo, optim, 'arch', seed=6)
        conv = algo.architecture.backbone.stem[0][0].weight
        assert conv.is_contiguous(
            memory_format=torch.channels_last) == channels_last
        results.append((float(weight['loss']), float(arch['arch_loss']),
                        {k: v.detach().clone()
                         for k, v in algo.mutator.arch_params.items()}))
    (w0, a0, p0), (w1, a1, p1) = results
    assert abs(w0 - w1) < 1e-4 and abs(a0 - a1) < 1e-4
    for key in p0:
        assert torch.allclose(p0[key], p1[key], atol=1e-6), key
