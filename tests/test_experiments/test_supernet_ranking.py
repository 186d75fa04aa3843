"""Supernet ranking (issue 21 item 3): the rank statistics and their seed
ceiling on data with known answers, the BN recalibration, the supernet with
a net's choices fixed vs the derived standalone net, and the tool end to end
on the digits demo data with a 2-epoch search checkpoint."""
import itertools
import json
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn as nn
from scipy.stats import kendalltau, spearmanr

import densenas_mm  # noqa: F401
from densenas_mm.experiments import rank_stats as RS
from densenas_mm.experiments import supernet_ranking as SR
from densenas_mm.experiments import supernet_scorer as SS
from densenas_mm.models.algorithms import recalibrate_bn
from helpers import REPO_ROOT
from helpers.tools import load_tool

DIGITS_SEARCH = osp.join(REPO_ROOT, 'configs', 'densenas',
                         'densenas_supernet-demo_1xb32-20e_digits.py')


# ------------------------------------------------------ rank statistics
def _brute_tau_b(x, y):
    """Kendall's tau-b by counting every pair."""
    conc = disc = tie_x = tie_y = 0
    n0 = 0
    for i, j in itertools.combinations(range(len(x)), 2):
        n0 += 1
        dx, dy = np.sign(x[i] - x[j]), np.sign(y[i] - y[j])
        tie_x += dx == 0
        tie_y += dy == 0
        conc += dx * dy > 0
        disc += dx * dy < 0
    return (conc - disc) / np.sqrt((n0 - tie_x) * (n0 - tie_y))


def test_perfect_and_reversed_orders():
    x = np.arange(8.0)
    same = RS.rank_correlations(x, 2 * x + 1)
    assert same['kendall_tau'] == pytest.approx(1.0)
    assert same['spearman_rho'] == pytest.approx(1.0)
    rev = RS.rank_correlations(x, -x ** 3)
    assert rev['kendall_tau'] == pytest.approx(-1.0)
    assert rev['spearman_rho'] == pytest.approx(-1.0)
    assert float(RS.kendall_rows(x, x[::-1])) == pytest.approx(-1.0)
    assert float(RS.spearman_rows(x, np.exp(x))) == pytest.approx(1.0)


def test_row_statistics_match_brute_force_and_scipy():
    rng = np.random.default_rng(3)
    for n in (3, 4, 5, 7, 12):
        for _ in range(20):
            # few distinct values: ties in both
            x = rng.integers(0, 4, n).astype(float)
            y = rng.integers(0, 4, n).astype(float)
            if len(set(x)) < 2 or len(set(y)) < 2:
                continue
            tau = float(RS.kendall_rows(x, y))
            assert tau == pytest.approx(_brute_tau_b(x, y))
            assert tau == pytest.approx(kendalltau(x, y).statistic)
            assert float(RS.spearman_rows(x, y)) == pytest.approx(
                spearmanr(x, y).statistic)
    # many rows at once = row by row
    xs, ys = rng.normal(size=(6, 9)), rng.normal(size=(6, 9))
    rows = RS.kendall_rows(xs, ys)
    assert rows.shape == (6, )
    assert rows == pytest.approx([_brute_tau_b(a, b) for a, b in zip(xs, ys)])
    # a constant row has no rank correlation
    assert np.isnan(RS.kendall_rows(np.ones(5), np.arange(5.0)))
    assert np.isnan(RS.spearman_rows(np.ones(5), np.arange(5.0)))


def test_bootstrap_over_nets():
    x = np.arange(10.0)
    perfect = RS.rank_bootstrap(x, x + 50, reps=300, seed=1)
    # every resample keeps the order (ties are left out of tau-b)
    assert perfect['kendall_tau_ci'] == pytest.approx((1.0, 1.0))
    assert perfect['spearman_rho_ci'] == pytest.approx((1.0, 1.0))
    assert perfect['reps'] == 300 and perfect['level'] == 0.95
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=30), rng.normal(size=30)
    r = RS.rank_bootstrap(a, b, reps=500, seed=2)
    lo, hi = r['kendall_tau_ci']
    assert -1 < lo < r['kendall_tau'] < hi < 1
    assert r == RS.rank_bootstrap(a, b, reps=500, seed=2)  # seeded
    with pytest.raises(ValueError, match='at least 3 nets'):
        RS.rank_correlations([1, 2], [3, 4])
    with pytest.raises(ValueError, match='equally long'):
        RS.rank_correlations([1, 2, 3], [3, 4])
    with pytest.raises(ValueError, match='finite'):
        RS.rank_correlations([1, 2, np.nan], [3, 4, 5])


def test_seed_ceiling_known_answers():
    base = np.arange(6.0)
    # every seed orders the nets alike: the ceiling is 1
    agree = np.stack([base, base + 0.1, base - 0.2], axis=1)
    c = RS.seed_ceiling(agree, reps=200)
    assert c['seeds'] == 3
    for kind in ('pairs', 'leave_one_out'):
        assert c[kind]['kendall_tau'] == pytest.approx(1.0)
        assert c[kind]['spearman_rho'] == pytest.approx(1.0)
    assert c['model']['pearson'] > 0.99
    # seed 1 reverses the order of seed 0: pair tau -1; leave-one-out of a
    # 2-seed table is the same pair twice
    two = np.stack([base, -base], axis=1)
    c2 = RS.seed_ceiling(two, reps=200)
    assert c2['pairs']['kendall_tau'] == pytest.approx(-1.0)
    assert c2['leave_one_out']['kendall_tau'] == pytest.approx(-1.0)
    # pairs = the mean over seed pairs, leave-one-out = the mean over seeds
    rng = np.random.default_rng(5)
    t = rng.normal(size=(9, 4))
    c3 = RS.seed_ceiling(t, reps=50)
    pairs = [kendalltau(t[:, a], t[:, b]).statistic
             for a, b in itertools.combinations(range(4), 2)]
    loo = [kendalltau(t[:, a], np.delete(t, a, 1).mean(1)).statistic
           for a in range(4)]
    assert c3['pairs']['kendall_tau'] == pytest.approx(np.mean(pairs))
    assert c3['leave_one_out']['kendall_tau'] == pytest.approx(np.mean(loo))
    with pytest.raises(ValueError, match='3 nets x 2 seeds'):
        RS.seed_ceiling([[1.0], [2.0], [3.0]])


# ---------------------------------------------------- BN recalibration
def test_recalibrate_bn_averages_batch_statistics():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4),
                          nn.Dropout(0.5)).eval()
    bn = model[1]
    bn.running_mean.fill_(5.0)
    bn.running_var.fill_(9.0)
    batches = [torch.randn(8, 3, 6, 6) * (k + 1) + k for k in range(3)]
    x = torch.randn(2, 3, 6, 6)
    before = model(x)
    feats = [model[0](b).detach() for b in batches]
    assert recalibrate_bn(model, model, batches) == 3
    want_mean = torch.stack([f.mean((0, 2, 3)) for f in feats]).mean(0)
    want_var = torch.stack([f.var((0, 2, 3), unbiased=True)
                            for f in feats]).mean(0)
    assert torch.allclose(bn.running_mean, want_mean, atol=1e-5)
    assert torch.allclose(bn.running_var, want_var, atol=1e-4)
    assert int(bn.num_batches_tracked) == 3
    # modes and momentum as before; dropout never trained
    assert bn.momentum == 0.1 and not bn.training and not model[2].training
    after = model(x)
    assert not torch.allclose(before, after)
    expect = (model[0](x) - want_mean[:, None, None]) / torch.sqrt(
        want_var[:, None, None] + bn.eps) * bn.weight[:, None, None] + \
        bn.bias[:, None, None]
    assert torch.allclose(after, expect, atol=1e-4)
    with pytest.raises(ValueError, match='at least one batch'):
        recalibrate_bn(model, model, [])


def test_fixed_supernet_is_the_derived_standalone_net():
    """The scorer's forward (choices fixed as derive() does) computes the
    function of the standalone subnet with the same weights, in eval mode
    with inherited and with recalibrated BN statistics."""
    from densenas_mm.apis.conversion.from_algorithm import \
        subnet_from_algorithm
    from densenas_mm.apis.random_arch import random_arch
    from helpers.search import build_algorithm, fake_batch
    algo = build_algorithm()
    algo.train()
    batch = algo.data_preprocessor(fake_batch(16, seed=1), False)
    with torch.no_grad():  # BN running statistics off their init
        algo.mutator.set_sampling('all')
        arch_ = algo.architecture
        arch_.head(arch_.extract_feat(batch['inputs']))
    algo.eval()
    arch = random_arch(algo.mutator, torch.Generator().manual_seed(4))
    algo.mutator.set_choices(arch.fix_subnet)
    inputs = algo.data_preprocessor(fake_batch(4, seed=2), False)['inputs']

    def fixed(x):
        a = algo.architecture
        return a.head(a.extract_feat(x))

    with torch.no_grad():
        subnet, _ = subnet_from_algorithm(algo, arch)
        assert torch.allclose(fixed(inputs), subnet(inputs, mode='tensor'),
                              atol=1e-4)
        recalibrate_bn(algo.architecture, fixed, [batch['inputs']])
        subnet, _ = subnet_from_algorithm(algo, arch)
        assert torch.allclose(fixed(inputs), subnet(inputs, mode='tensor'),
                              atol=1e-4)


# ------------------------------------------------------------ the tool
def _fake_signal(folder, seeds_top1):
    """A signal folder of random digits-space nets with the given top-1
    rows (one per net)."""
    from densenas_mm.apis.random_arch import build_search_mutator, random_arch
    mutator = build_search_mutator(DIGITS_SEARCH)
    gen = torch.Generator().manual_seed(0)
    os.makedirs(osp.join(folder, 'archs'))
    nets, seen = [], set()
    while len(nets) < len(seeds_top1):
        arch = random_arch(mutator, gen)
        if arch.to_net_config() in seen:
            continue
        seen.add(arch.to_net_config())
        name = f'arch_{len(nets)}'
        arch.dump(osp.join(folder, 'archs', f'{name}.yaml'))
        nets.append(dict(name=name, arch='/elsewhere/' + name + '.yaml',
                         latency=5.0, path=list(arch.path),
                         net_config=arch.to_net_config(),
                         seeds=[0, 1, 2],
                         top1_seeds=seeds_top1[len(nets)]))
    with open(osp.join(folder, 'signal.json'), 'w') as f:
        json.dump(dict(seeds=[0, 1, 2], nets=nets), f)
    return nets


@pytest.fixture(scope='module')
def search_ckpt(tmp_path_factory, tool_env, lut):
    """A 2-epoch digits search (1 warm-up + 1 search epoch), shrunk."""
    wd = str(tmp_path_factory.mktemp('rank') / 'search')
    shrink = []
    for loader in ('train_dataloader', 'val_dataloader',
                   'train_cfg.arch_dataloader'):
        shrink += [f'{loader}.batch_size=16', f'{loader}.num_workers=0',
                   f'{loader}.persistent_workers=False',
                   f'{loader}.dataset.indices='
                   f"{64 if loader == 'train_dataloader' else 32}"]
    cmd = [sys.executable, 'tools/train.py', DIGITS_SEARCH, '--work-dir', wd,
           '--cfg-options', 'warmup_epochs=1', 'search_epochs=1',
           f'model.estimator.lut={lut}', 'randomness.seed=0', *shrink]
    out = subprocess.run(cmd, cwd=REPO_ROOT, env=tool_env,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, (out.stdout + out.stderr)[-4000:]
    ckpt = osp.join(wd, 'epoch_2.pth')
    assert osp.isfile(ckpt)
    return ckpt


SHRINK_OPTIONS = [
    'train_dataloader.dataset.indices=64', 'train_dataloader.batch_size=16',
    'val_dataloader.dataset.indices=32', 'val_dataloader.batch_size=16'
]


@pytest.mark.slow
def test_tool_end_to_end(search_ckpt, tmp_path, demo_data_root,
                         monkeypatch):
    from densenas_mm.models.estimators.budget_derivation import arch_logp
    from densenas_mm.search_space import SpaceGraph
    from densenas_mm.structures import (DerivedArch, params_from_state_dict)
    from densenas_mm.utils.checkpoint import read_checkpoint, state_of
    monkeypatch.setenv('DENSENAS_DEMO_DATA', demo_data_root)
    # every seed orders the 4 nets alike: seed ceiling 1
    top1 = [[80.0 + k, 80.5 + k, 79.8 + k] for k in range(4)]
    signal = tmp_path / 'signal'
    nets = _fake_signal(str(signal), top1)
    out = tmp_path / 'out'
    tool = load_tool('benchmark/supernet_ranking.py')
    args = [DIGITS_SEARCH, search_ckpt, '--signal', str(signal),
            '--bn-batches', '2', '--bootstrap-reps', '100', '--out-dir',
            str(out), '--cfg-options', *SHRINK_OPTIONS]
    result = tool.main(args)
    assert [n['name'] for n in result['nets']] == [n['name'] for n in nets]
    assert result['val_images'] == 32 and result['bn_images'] == 32
    state = state_of(read_checkpoint(search_ckpt), search_ckpt)
    params = params_from_state_dict(state)
    for net in result['nets']:
        # the local archs/ file, not the recorded path
        assert net['arch'] == str(signal / 'archs' / f"{net['name']}.yaml")
        arch = DerivedArch.load(net['arch'])
        space = arch.recorded_space()
        assert net['logp'] == pytest.approx(
            arch_logp(space, SpaceGraph(space), params, arch))
        assert net['logp'] < 0
        for mode in SS.BN_MODES:
            s = net['supernet'][mode]
            assert s['images'] == 32 and 0 <= s['top1'] <= 100
            assert s['loss'] > 0
            assert s['top1'] * 32 / 100 == pytest.approx(
                round(s['top1'] * 32 / 100))
        assert net['top1_mean'] == pytest.approx(np.mean(net['top1_seeds']))
    # the nets' means rise with k: a score's correlations are those of
    # its values vs k
    for key in SS.SCORES:
        vals = [SS.score_values(n)[key] for n in result['nets']]
        r = result['correlations'][key]
        assert r['kendall_tau'] == pytest.approx(
            kendalltau(vals, range(4)).statistic, nan_ok=True)
    ref = [SS.score_values(n)['top1_recalibrated'] for n in result['nets']]
    logps = [n['logp'] for n in result['nets']]
    assert result['agreement_with_recalibrated']['logp'] == pytest.approx(
        kendalltau(logps, ref).statistic, nan_ok=True)
    assert 'top1_recalibrated' not in result['agreement_with_recalibrated']
    c = result['ceiling']
    assert result['ceiling_seeds'] == [0, 1, 2]
    assert c['pairs']['kendall_tau'] == pytest.approx(1.0)
    assert c['leave_one_out']['spearman_rho'] == pytest.approx(1.0)
    saved = json.loads((out / 'ranking.json').read_text())
    assert saved['nets'] == json.loads(json.dumps(result['nets']))
    text = (out / 'ranking.md').read_text()
    assert '| arch_3 |' in text and 'ceiling: one seed vs another' in text
    assert (out / 'ranking.png').stat().st_size > 10_000
    # the same call gives the same scores (fixed recalibration batches)
    again = SR.supernet_ranking(
        DIGITS_SEARCH, search_ckpt, str(signal), bn_batches=2,
        out_dir=str(tmp_path / 'again'), bootstrap_reps=100, quiet=True,
        cfg_options={o.split('=')[0]: int(o.split('=')[1])
                     for o in SHRINK_OPTIONS})
    assert [n['supernet'] for n in again['nets']] == \
        [n['supernet'] for n in result['nets']]


@pytest.mark.slow
def test_rsws_score_is_the_scorers_recalibrated_top1(search_ckpt, tmp_path,
                                                     demo_data_root,
                                                     monkeypatch):
    """The RS-WS arm's scores (supernet_score.score_archs) are the
    recalibrated top-1 of the ranking's scorer: one way to put a net in
    play, recalibrate BN and evaluate."""
    from densenas_mm.experiments.supernet_score import score_archs
    from densenas_mm.structures import DerivedArch
    monkeypatch.setenv('DENSENAS_DEMO_DATA', demo_data_root)
    nets = _fake_signal(str(tmp_path / 'signal'), [[1.0, 2.0, 3.0]] * 3)
    archs = [str(tmp_path / 'signal' / 'archs' / f"{n['name']}.yaml")
             for n in nets]
    opts = {o.split('=')[0]: int(o.split('=')[1]) for o in SHRINK_OPTIONS}
    out = tmp_path / 'scores.json'
    scores = score_archs(DIGITS_SEARCH, search_ckpt, archs, str(out),
                         cfg_options=opts, recal_batches=2, seed=0)
    scorer = SS.SupernetScorer(DIGITS_SEARCH, search_ckpt, 2, opts)
    full = [scorer.score(DerivedArch.load(a)) for a in archs]
    assert scores == [f['recalibrated']['top1'] for f in full]
    assert all(f['recalibrated']['images'] == 32 for f in full)
    saved = json.loads(out.read_text())
    assert saved['scores'] == scores and saved['archs'] == archs
    assert saved['recal_batches'] == 2 and scorer.bn_images == 32
    # 64 search-train images in batches of 16: 4 batches
    with pytest.raises(SS.ScorerInputError, match='has only 4'):
        SS.SupernetScorer(DIGITS_SEARCH, search_ckpt, 5, opts)
    with pytest.raises(SS.ScorerInputError, match='>= 1 search-train'):
        score_archs(DIGITS_SEARCH, search_ckpt, archs, str(out),
                    cfg_options=opts, recal_batches=0)


@pytest.mark.slow
def test_bad_inputs_are_one_error_line(search_ckpt, tmp_path, tool_env):
    signal = tmp_path / 'signal'
    _fake_signal(str(signal), [[80.0, 81.0, 82.0]] * 3)

    def run(*args):
        out = subprocess.run(
            [sys.executable, 'tools/benchmark/supernet_ranking.py',
             DIGITS_SEARCH, *args], cwd=REPO_ROOT, env=tool_env,
            capture_output=True, text=True, timeout=300)
        assert out.returncode == 1, out.stdout + out.stderr
        lines = out.stderr.strip().splitlines()
        assert lines[-1].startswith('error: ') and 'Traceback' not in \
            out.stderr, out.stderr[-2000:]
        return lines[-1]

    assert 'holds no signal.json' in run(search_ckpt, '--signal',
                                         str(tmp_path))
    assert 'no.pth' in run(str(tmp_path / 'no.pth'), '--signal',
                           str(signal))
    assert '--bn-batches must be >= 1' in run(
        search_ckpt, '--signal', str(signal), '--bn-batches', '0')


def test_read_signal_refusals(tmp_path):
    with pytest.raises(SR.RankingInputError, match='no signal.json'):
        SR.read_signal(str(tmp_path))
    (tmp_path / 'signal.json').write_text(json.dumps(dict(nets=[
        dict(name='a', seeds=[0], top1_seeds=[1.0])] * 2)))
    with pytest.raises(SR.RankingInputError, match='at least 3 nets'):
        SR.read_signal(str(tmp_path))
    (tmp_path / 'signal.json').write_text(json.dumps(dict(nets=[
        dict(name=f'a{k}', seeds=[0, 1], top1_seeds=[1.0]) for k in
        range(3)])))
    with pytest.raises(SR.RankingInputError, match='1 top-1 value'):
        SR.read_signal(str(tmp_path))
    (tmp_path / 'signal.json').write_text(json.dumps(dict(nets=[
        dict(name=f'a{k}', seeds=[0], top1_seeds=[1.0]) for k in
        range(3)])))
    with pytest.raises(SR.RankingInputError, match='no architecture file'):
        SR.read_signal(str(tmp_path))


def test_read_signal_checks_the_arch_files(tmp_path):
    nets = _fake_signal(str(tmp_path), [[1.0, 2.0, 3.0]] * 3)
    sig = SR.read_signal(str(tmp_path))
    assert [n['top1_mean'] for n in sig['nets']] == [2.0] * 3
    assert SR.common_seed_table(sig['nets']) == ([0, 1, 2],
                                                [[1.0, 2.0, 3.0]] * 3)
    # a file of another net than signal.json records
    os.replace(tmp_path / 'archs' / 'arch_1.yaml',
               tmp_path / 'archs' / 'arch_0.yaml')
    with pytest.raises(SR.RankingInputError, match='mixes two checks'):
        SR.read_signal(str(tmp_path))
    assert nets


# ------------------------------------------- options beyond the paper
def _option_config(folder, name, body):
    """A search config: the digits demo search with ``body`` added."""
    path = osp.join(folder, f'{name}.py')
    with open(path, 'w') as f:
        f.write(f'_base_ = [{DIGITS_SEARCH!r}]\n{body}\n')
    return path


@pytest.mark.slow
def test_ranking_options_end_to_end(tmp_path, lut, demo_data_root,
                                    monkeypatch):
    """Real 1 + 1 epoch digits searches with the BN-recalibration hook and
    with uniform weight sampling, each ranked on a fake signal check; a
    second call reuses the searches."""
    from densenas_mm.experiments import ranking_options as RO
    monkeypatch.setenv('DENSENAS_DEMO_DATA', demo_data_root)
    options = dict(
        paper=DIGITS_SEARCH,
        bn_recal=_option_config(
            str(tmp_path), 'bnrecal',
            "custom_hooks = [\n"
            "    dict(type='densenas_mm.DenseNASWarmupHook', "
            "warmup_epochs=1),\n"
            "    dict(type='densenas_mm.DenseNASArchHook', topk=2),\n"
            "    dict(type='densenas_mm.DenseNASBNRecalibrationHook', "
            "batches=2)]"),
        uniform=_option_config(str(tmp_path), 'uniform',
                               "model = dict(weight_sampling='uniform')") +
        ',warmup_epochs=0')
    top1 = [[80.0 + k, 80.5 + k, 79.8 + k] for k in range(4)]
    signal = tmp_path / 'signal'
    _fake_signal(str(signal), top1)
    shrink = ['warmup_epochs=1', 'search_epochs=1']
    for loader in ('train_dataloader', 'val_dataloader',
                   'train_cfg.arch_dataloader'):
        shrink += [f'{loader}.batch_size=16',
                   f'{loader}.dataset.indices='
                   f"{64 if loader == 'train_dataloader' else 32}"]
    wd = tmp_path / 'options'
    tool = load_tool('benchmark/ranking_options.py')
    args = ['--signal', str(signal), '--lut', lut, '--option',
            *[f'{k}={v}' for k, v in options.items()], '--search-seeds',
            '0', '--bn-batches', '2', '--bootstrap-reps', '50',
            '--search-options', *shrink, '--work-dir', str(wd)]
    result = tool.main(args)
    assert [(r['option'], r['search_seed']) for r in result['rows']] == [
        ('paper', 0), ('bn_recal', 0), ('uniform', 0)]
    assert result['nets'] == 4 and result['ceiling_seeds'] == [0, 1, 2]
    assert result['ceiling']['pairs']['kendall_tau'] == pytest.approx(1.0)
    for row in result['rows']:
        ranking = json.loads(
            (wd / row['option'] / 's0' / 'ranking' / 'ranking.json'
             ).read_text())
        for key in SR.SCORES:
            assert row['tau'][key] == pytest.approx(
                ranking['correlations'][key]['kendall_tau'], nan_ok=True)
        epochs = 1 if row['option'] == 'uniform' else 2
        assert row['checkpoint'].endswith(f'epoch_{epochs}.pth')
        assert len(row['archs']['last']['path']) >= 3
        assert row['cpu_hours'] > 0
        summary = result['options'][row['option']]
        assert summary['mean_tau']['logp'][0] == pytest.approx(
            row['tau']['logp'], nan_ok=True)
    # the hook ran in the real search: validation on re-estimated BN, and
    # the selection it fed
    log = (wd / 'bn_recal' / 's0' / 'search.log').read_text()
    assert log.count('BN statistics re-estimated on 2 search-train '
                     'batches') == 1
    assert 'BN statistics re-estimated' not in (
        wd / 'paper' / 's0' / 'search.log').read_text()
    assert (wd / 'bn_recal' / 's0' / 'arch' / 'best.yaml').is_file()
    text = (wd / 'options.md').read_text()
    assert '| uniform | 0 |' in text and 'Ceiling' in text
    # the option's own options: no warm-up, so both epochs searched
    assert result['rows'][2]['config_options'] == ['warmup_epochs=0']
    from densenas_mm.structures import DerivedArch
    phases = {
        name: DerivedArch.load(
            str(wd / name / 's0' / 'arch' / 'epoch_1.yaml')).meta['phase']
        for name in ('paper', 'uniform')
    }
    assert phases == dict(paper='warmup', uniform='search')
    # resumed: the searches are reused, the report is the same
    stamp = (wd / 'paper' / 's0' / 'search.log').stat().st_mtime_ns
    again = tool.main(args)
    assert (wd / 'paper' / 's0' / 'search.log').stat().st_mtime_ns == stamp
    assert json.dumps([r['tau'] for r in again['rows']]) == \
        json.dumps([r['tau'] for r in result['rows']])  # NaN-safe


def test_ranking_options_refusals(tmp_path):
    from densenas_mm.experiments import ranking_options as RO
    from densenas_mm.utils.options import ConfigError
    assert list(RO.parse_options(None)) == [
        'paper', 'bn_recal', 'uniform_long_warmup', 'path_sampled']
    for spec in RO.DEFAULT_OPTIONS.values():
        config, _ = RO.split_spec(spec)
        assert osp.isfile(osp.join(REPO_ROOT, config)), config
    assert RO.split_spec(RO.DEFAULT_OPTIONS['uniform_long_warmup'])[1] == [
        'warmup_epochs=15']
    with pytest.raises(ConfigError, match='is not KEY=VALUE'):
        RO.parse_options(['a=x.py,oops'])
    with pytest.raises(ConfigError, match='give NAME=CONFIG'):
        RO.parse_options(['paper'])
    with pytest.raises(ConfigError, match='given twice'):
        RO.parse_options(['a=x.py', 'a=y.py'])
    with pytest.raises(ConfigError, match="config 'nope.py' not found"):
        RO.ranking_options(str(tmp_path), str(tmp_path),
                           dict(a='nope.py'), work_dir=str(tmp_path / 'w'))
    with pytest.raises(ConfigError, match='search seeds repeat'):
        RO.ranking_options(str(tmp_path), str(tmp_path), None,
                           search_seeds=(1, 1), work_dir=str(tmp_path / 'w'))
