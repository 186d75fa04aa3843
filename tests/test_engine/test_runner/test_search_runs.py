"""End-to-end DenseNAS searches through tools/train.py and dist_train.sh.

Every run is a subprocess on the demo data, shrunk by a generated config
that inherits the demo search config and keeps its loaders: random crops on
search-train, the test transform on search-val, 2 persistent workers per
search loader (``SeededDataset`` + ``SeededSampler``); 64 search-train / 32
search-val images, batch 16, warm-up 1 epoch, a tiny latency table built in
a fixture with stand-in timings. An interrupted and resumed run must match
an uninterrupted one number for number in exactly this setting. Each run
takes 10-30 s on 2 shared cores, most of it start-up.
"""
import glob
import json
import os
import os.path as osp
import socket
import subprocess
import sys
from typing import Dict, List

import pytest
import torch
import yaml

from helpers import REPO_ROOT
from helpers.timings import crc_measure

TESTS = osp.join(REPO_ROOT, 'tests')
DEMO_CONFIG = osp.join(REPO_ROOT, 'configs', 'densenas',
                       'densenas_supernet-demo_1xb32-20e_digits.py')

TEST_CONFIG = '''
_base_ = [{demo!r}]
custom_imports = dict(
    imports=['densenas_mm', 'helpers.search_hooks'], allow_failed_imports=False)
lut_file = {lut!r}
model = dict(estimator=dict(lut=lut_file))
# the demo's search loaders (random crops on search-train, seeded per
# sample), shrunk; 2 persistent workers each
train_dataloader = dict(
    batch_size=16, num_workers=2, persistent_workers=True,
    dataset=dict(indices=64))
val_dataloader = dict(
    batch_size=16, num_workers=0, persistent_workers=False,
    dataset=dict(indices=32))
train_cfg = dict(
    max_epochs=3, val_interval=1, val_begin=1,
    arch_dataloader=dict(
        batch_size=16, num_workers=2, persistent_workers=True,
        dataset=dict(indices=32)))
custom_hooks = [
    dict(type='densenas_mm.DenseNASWarmupHook', warmup_epochs=1),
    dict(type='densenas_mm.DenseNASArchHook'),
    dict(type='densenas_mm.DenseNASTestDumpHook'),
]
default_hooks = dict(
    logger=dict(interval=1),
    search_logger=dict(interval=1),
    checkpoint=dict(interval=1, max_keep_ckpts=3))
visualizer = dict(vis_backends=[
    dict(type='LocalVisBackend'),
    dict(type='DenseNASTestRecordingBackend')])
randomness = dict(seed=0, deterministic=True)
'''

# NaN weights from the start of the third epoch (0-based 2)
NAN_HOOKS = '''
custom_hooks = [
    dict(type='densenas_mm.DenseNASWarmupHook', warmup_epochs=1),
    dict(type='densenas_mm.DenseNASTestNaNHook', epoch=2),
]
'''
# classifier weights x 1e4 on rank 1 from the third epoch: a finite but
# diverged loss; the guard starts after 2 steps (4 weight steps per rank
# before it)
DIVERGE_HOOKS = '''
custom_hooks = [
    dict(type='densenas_mm.DenseNASWarmupHook', warmup_epochs=1),
    dict(type='densenas_mm.DenseNASTestDivergeHook', epoch=2, rank=1),
]
model = dict(divergence_guard=dict(factor=100.0, window=10, min_steps=2))
'''
# the search config's hooks plus kill -9 in the middle of an epoch (after
# weight step ITER of epoch EPOCH, 1-based)
KILL_HOOKS = '''
custom_hooks = [
    dict(type='densenas_mm.DenseNASWarmupHook', warmup_epochs=1),
    dict(type='densenas_mm.DenseNASArchHook'),
    dict(type='densenas_mm.DenseNASTestDumpHook'),
    dict(type='densenas_mm.DenseNASTestKillHook', epoch={epoch}, iter={iter}),
]
'''


# rank 1 freezes after its weight step 1 of epoch 1 (of 2 per rank); the
# process group waits 5 s for it
SLEEP_HOOKS = '''
custom_hooks = [
    dict(type='densenas_mm.DenseNASWarmupHook', warmup_epochs=1),
    dict(type='densenas_mm.DenseNASTestSleepHook', epoch=1, iter=1, rank=1,
         seconds=300),
]
env_cfg = dict(dist_cfg=dict(timeout=5))
'''


@pytest.fixture(scope='module')
def search_config(tmp_path_factory):
    """The shrunk search config (and its tiny latency table)."""
    from densenas_mm.latency import build_latency_table
    from densenas_mm.search_space import load_preset
    folder = tmp_path_factory.mktemp('search_cfg')
    lut = str(folder / 'demo_fake_lut.json')
    build_latency_table(
        load_preset('densenas_demo_32'),
        out=lut,
        progress=False,
        measure=crc_measure)
    path = str(folder / 'densenas_search_test.py')
    with open(path, 'w') as f:
        f.write(TEST_CONFIG.format(demo=DEMO_CONFIG, lut=lut))
    return path


@pytest.fixture(scope='module')
def env(tool_env):
    env = dict(tool_env)
    env['PYTHONPATH'] = os.pathsep.join([TESTS, REPO_ROOT] + (
        [env['PYTHONPATH']] if env.get('PYTHONPATH') else []))
    env['OMP_NUM_THREADS'] = '1'
    return env


def _run(cmd: List[str],
         env: Dict[str, str],
         log: str,
         ok: bool = True,
         timeout: int = 600) -> str:
    out = subprocess.run(
        cmd,
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout)
    text = out.stdout + out.stderr
    with open(log, 'w') as f:
        f.write(text)
    if ok:
        assert out.returncode == 0, f'{" ".join(cmd)}:\n{text[-5000:]}'
    else:
        assert out.returncode != 0, 'the run should have failed'
    return text


def _train(config, work_dir, env, *options, extra=(), ok=True) -> str:
    cmd = [
        sys.executable, 'tools/train.py', config, '--work-dir', work_dir,
        *extra
    ]
    if options:
        cmd += ['--cfg-options', *options]
    tag = len(glob.glob(work_dir + '.*.out'))
    return _run(cmd, env, f'{work_dir}.{tag}.out', ok)


def _arch_params(state: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    return {k: v for k, v in state.items() if 'arch_params' in k}


def _ckpt_state(path: str) -> Dict[str, torch.Tensor]:
    return torch.load(
        path, map_location='cpu', weights_only=False)['state_dict']


@pytest.fixture(scope='module')
def full_run(search_config, env, tmp_path_factory):
    """3 epochs (1 warm-up + 2 search) uninterrupted."""
    work_dir = str(tmp_path_factory.mktemp('runs') / 'full')
    text = _train(search_config, work_dir, env)
    return dict(work_dir=work_dir, text=text)


@pytest.mark.slow
def test_search_runs_end_to_end(full_run):
    work_dir, text = full_run['work_dir'], full_run['text']
    assert 'architecture updates on from epoch 2' in text
    # epoch 1 is warm-up: no architecture pass; epochs 2 and 3 have one
    assert 'Epoch(search) [1] architecture pass' not in text
    for epoch in (2, 3):
        assert f'Epoch(search) [{epoch}] architecture pass: 2 steps' in text
    assert 'Epoch(train) [3][4/4]' in text
    for key in ('arch_loss_cost', 'arch_expected_cost', 'arch_acc_top1',
                'arch_alpha_entropy', 'arch_beta_entropy', 'accuracy/top1'):
        assert key in text, key
    arch_dir = osp.join(work_dir, 'arch')
    for name in ('epoch_1.yaml', 'epoch_3.yaml', 'epoch_3.net_config',
                 'last.yaml', 'best.yaml', 'top1.yaml', 'top2.yaml',
                 'topk.json'):
        assert osp.isfile(osp.join(arch_dir, name)), name
    # validated from epoch 1, but epoch 1 (warm-up) is no candidate
    assert 'epoch 1 is a warm-up epoch' in text
    with open(osp.join(arch_dir, 'topk.json')) as f:
        selection = json.load(f)
    assert selection['metric'] == 'accuracy/top1' and selection['k'] == 2
    kept = selection['kept']
    assert sorted(c['epoch'] for c in kept) == [2, 3]
    assert kept[0]['score'] >= kept[1]['score']
    with open(osp.join(arch_dir, 'best.yaml')) as f:
        best = yaml.safe_load(f)['densenas_arch']
    assert best['meta']['epoch'] == kept[0]['epoch']
    assert best['meta']['selection_rank'] == 1
    assert best['meta']['selection_score'] == round(kept[0]['score'], 4)
    with open(osp.join(arch_dir, 'epoch_3.yaml')) as f:
        arch = yaml.safe_load(f)['densenas_arch']
    assert arch['meta']['phase'] == 'search'
    assert arch['meta']['latency'] > 0
    # alpha/beta moved away from their 1e-3 * randn init during the search
    state = _ckpt_state(osp.join(work_dir, 'epoch_3.pth'))
    first = _ckpt_state(osp.join(work_dir, 'epoch_1.pth'))
    params = _arch_params(state)
    assert params and all(not torch.equal(v, first[k])
                          for k, v in params.items())
    # warm-up leaves them untouched
    assert max(float(v.abs().max())
               for v in _arch_params(first).values()) < 1e-2


def _rows(path: str) -> List[Dict]:
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def _run_dir(work_dir: str, index: int = -1) -> str:
    return sorted(glob.glob(osp.join(work_dir, '20*_*')))[index]


ANALYZE_LOGS = osp.join(
    osp.dirname(__import__('mmcls').__file__), '.mim', 'tools',
    'analysis_tools', 'analyze_logs.py')


@pytest.mark.slow
def test_search_logs_each_value_once_at_its_own_step(full_run, env,
                                                       tmp_path):
    """3 epochs, 1 warm-up, 4 weight and 2 architecture steps per epoch."""
    text, run = full_run['text'], _run_dir(full_run['work_dir'])
    weight_lines = [ln for ln in text.splitlines() if 'Epoch(train)' in ln]
    assert len(weight_lines) == 12
    for line in weight_lines:  # their own values only, no stale arch keys
        assert 'arch_' not in line and 'derived_' not in line, line
        assert ' lr: ' in line and 'eta: ' in line and 'loss: ' in line
    # progress and the ETA during the architecture passes
    for epoch in (2, 3):
        for step in (1, 2):
            line = next(ln for ln in text.splitlines()
                        if f'Epoch(arch) [{epoch}][{step}/2]' in ln)
            assert 'eta: ' in line and 'arch_loss: ' in line
    # mmengine's files: weight steps and validations only
    weight_rows = _rows(osp.join(run, 'vis_data', 'scalars.json'))
    assert not any(k.startswith(('arch_', 'derived_')) for r in weight_rows
                   for k in r)
    train = [r for r in weight_rows if 'lr' in r]
    val = [r for r in weight_rows if 'lr' not in r]
    assert [r['step'] for r in train] == list(range(1, 13))
    assert all('loss' in r for r in train)
    assert [r['step'] for r in val] == [1, 2, 3]
    assert all('accuracy/top1' in r for r in val)
    # the search's own rows: architecture steps, then one per epoch
    rows = _rows(osp.join(run, 'vis_data', 'search_scalars.json'))
    arch = [r for r in rows if 'lr' in r]
    epochs = [r for r in rows if 'lr' not in r]
    assert [(r['epoch'], r['step']) for r in arch] == [(2, 1), (2, 2),
                                                        (3, 3), (3, 4)]
    assert all(r['arch_loss'] > 0 and r['time'] > 0 for r in arch)
    assert [r['step'] for r in epochs] == [1, 2, 3]
    assert all(r['derived_latency'] > 0 and 'expected_cost_all_ops' in r
               for r in epochs)
    # what TensorBoard would plot: every scalar at its own step
    steps: Dict[str, List[int]] = {}
    for key, _, step in _rows(osp.join(run, 'vis_data',
                                       'recorded_scalars.json')):
        steps.setdefault(key, []).append(step)
    assert steps['loss'] == list(range(1, 13))
    assert steps['accuracy/top1'] == [1, 2, 3]
    assert steps['arch_loss'] == steps['arch_lr'] == [1, 2, 3, 4]
    assert steps['derived_latency'] == [1, 2, 3]
    # mmcls's analyze_logs reads both files
    json_log = glob.glob(osp.join(run, 'vis_data', '20*.json'))[0]
    for log, keys in ((json_log, 'loss'), (json_log, 'accuracy/top1'),
                      (osp.join(run, 'vis_data', 'search_scalars.json'),
                       'arch_loss')):
        out = str(tmp_path / (keys.replace('/', '_') + '.png'))
        _run([sys.executable, ANALYZE_LOGS, 'plot_curve', log, '--keys',
              keys, '--backend', 'Agg', '--out', out], env,
             str(tmp_path / 'analyze.out'))
        assert osp.getsize(out) > 1000, keys


def _killed_config(search_config: str, folder, epoch: int, it: int) -> str:
    path = str(folder / f'killed_e{epoch}_i{it}.py')
    with open(path, 'w') as f:
        f.write(f'_base_ = [{search_config!r}]\n' +
                KILL_HOOKS.format(epoch=epoch, iter=it))
    return path


def _assert_same_search(full_dir: str, resumed_dir: str, epoch: int) -> None:
    """Same derived architecture, alpha/beta, weights and optimiser state
    after ``epoch`` in both runs."""
    name = f'epoch_{epoch}'
    with open(osp.join(full_dir, 'arch', f'{name}.yaml')) as f:
        full_arch = yaml.safe_load(f)['densenas_arch']
    with open(osp.join(resumed_dir, 'arch', f'{name}.yaml')) as f:
        resumed_arch = yaml.safe_load(f)['densenas_arch']
    for key in ('path', 'blocks', 'net_config', 'meta'):
        assert full_arch[key] == resumed_arch[key], key
    full = _ckpt_state(osp.join(full_dir, f'{name}.pth'))
    resumed = _ckpt_state(osp.join(resumed_dir, f'{name}.pth'))
    assert full.keys() == resumed.keys()
    params = _arch_params(full)
    assert params
    for k in params:
        assert torch.allclose(full[k], resumed[k], atol=1e-6, rtol=0), k
    worst = max(
        float((full[k].float() - resumed[k].float()).abs().max())
        for k in full)
    assert worst < 1e-5
    # both optimisers were restored: SGD momentum and Adam moments match
    ckpts = [
        torch.load(
            osp.join(d, f'{name}.pth'), map_location='cpu',
            weights_only=False)['optimizer'] for d in (full_dir, resumed_dir)
    ]
    for group in ('architecture', 'mutator'):
        a, b = ckpts[0][group]['state'], ckpts[1][group]['state']
        assert a.keys() == b.keys(), group
        for idx in a:
            for key, val in a[idx].items():
                if torch.is_tensor(val):
                    assert torch.allclose(
                        val, b[idx][key], atol=1e-5), (group, idx, key)


@pytest.mark.slow
def test_kill_mid_epoch_and_resume_matches_uninterrupted_run(
        full_run, search_config, env, tmp_path):
    """kill -9 after weight step 2 of the 4 of epoch 2 (the first search
    epoch), --resume: the run repeats epoch 2 from its checkpoint of epoch 1
    (fresh data workers, random crops), runs epoch 3, and ends where the
    uninterrupted run ends; epoch 3's architecture steps see the weights
    the repeated weight pass trained."""
    work_dir = str(tmp_path / 'resumed')
    killed = _killed_config(search_config, tmp_path, epoch=2, it=2)
    text = _train(killed, work_dir, env, ok=False)
    assert 'Epoch(train) [2][2/4]' in text
    assert not osp.exists(osp.join(work_dir, 'epoch_2.pth'))
    text = _train(search_config, work_dir, env, extra=['--resume'])
    assert 'resumed epoch: 1' in text
    # the warm-up hook puts a resumed run straight into the search phase
    assert 'Epoch(search) [2] architecture pass: 2 steps' in text
    assert 'Epoch(train) [1]' not in text
    # the architecture steps are counted on from the checkpoint of epoch 1
    rows = _rows(osp.join(_run_dir(work_dir), 'vis_data',
                          'search_scalars.json'))
    assert [r['step'] for r in rows if 'lr' in r] == [1, 2, 3, 4]
    for epoch in (2, 3):
        _assert_same_search(full_run['work_dir'], work_dir, epoch)
    # the selection survived too: epochs 2 and 3 (epoch 1 is warm-up)
    for d in (full_run['work_dir'], work_dir):
        with open(osp.join(d, 'arch', 'topk.json')) as f:
            kept = json.load(f)['kept']
        assert sorted(c['epoch'] for c in kept) == [2, 3]
    with open(osp.join(full_run['work_dir'], 'arch', 'topk.json')) as f:
        assert json.load(f) == json.load(
            open(osp.join(work_dir, 'arch', 'topk.json')))


@pytest.fixture(scope='module')
def dist_full_run(search_config, env, tmp_path_factory):
    """2 gloo processes, 2 epochs (1 warm-up + 1 search), uninterrupted."""
    work_dir = str(tmp_path_factory.mktemp('dist') / 'full')
    text = _dist_train(search_config, work_dir, env)
    return dict(work_dir=work_dir, text=text)


def _dist_train(config, work_dir, env, *extra, ok=True) -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    cmd = [
        'bash', 'tools/dist_train.sh', config, '2', '--work-dir', work_dir,
        *extra, '--cfg-options', 'train_cfg.max_epochs=2'
    ]
    tag = len(glob.glob(work_dir + '.*.out'))
    return _run(cmd, dict(env, PORT=str(port)), f'{work_dir}.{tag}.out', ok,
                timeout=400)


@pytest.mark.slow
def test_two_process_search_keeps_ranks_identical(dist_full_run):
    work_dir, text = dist_full_run['work_dir'], dist_full_run['text']
    # 64 images over 2 ranks of batch 16: 2 weight steps an epoch; 32
    # search-val images: 1 arch step an epoch per rank
    assert 'Epoch(train) [2][2/2]' in text
    assert 'Epoch(search) [2] architecture pass: 1 steps' in text
    states = [
        torch.load(
            osp.join(work_dir, f'state_rank{r}.pt'), weights_only=False)
        for r in (0, 1)
    ]
    params = _arch_params(states[0])
    assert params
    # every parameter (weights, alphas, betas) is identical on both ranks;
    # BN running statistics are per rank (no SyncBN), as in any DDP run
    buffers = ('running_mean', 'running_var', 'num_batches_tracked')
    compared = [k for k in states[0] if not k.endswith(buffers)]
    assert len(compared) > len(params)
    for k in compared:
        assert torch.equal(states[0][k], states[1][k]), k
    ckpt = _ckpt_state(osp.join(work_dir, 'epoch_2.pth'))
    for k, v in params.items():
        assert torch.equal(ckpt[k], v), k
    # the search moved alpha/beta (the arch step ran under DDP)
    first = _ckpt_state(osp.join(work_dir, 'epoch_1.pth'))
    assert any(not torch.equal(first[k], v) for k, v in params.items())


@pytest.mark.slow
def test_two_process_kill_mid_epoch_and_resume_matches_uninterrupted_run(
        dist_full_run, search_config, env, tmp_path):
    """Both ranks killed (-9) after weight step 1 of the 2 of epoch 2, then
    resumed with 2 processes: same result as the uninterrupted 2-process
    run, on both ranks."""
    work_dir = str(tmp_path / 'dist_resumed')
    killed = _killed_config(search_config, tmp_path, epoch=2, it=1)
    _dist_train(killed, work_dir, env, ok=False)
    assert not osp.exists(osp.join(work_dir, 'epoch_2.pth'))
    text = _dist_train(search_config, work_dir, env, '--resume')
    assert 'resumed epoch: 1' in text
    _assert_same_search(dist_full_run['work_dir'], work_dir, 2)
    for rank in (0, 1):
        full, resumed = (torch.load(
            osp.join(d, f'state_rank{rank}.pt'), weights_only=False)
                         for d in (dist_full_run['work_dir'], work_dir))
        for k in _arch_params(full):
            assert torch.allclose(full[k], resumed[k], atol=1e-6,
                                  rtol=0), (rank, k)


@pytest.mark.slow
def test_selecting_on_another_split_is_refused(search_config, env, tmp_path):
    """Supernet validation on the test split would leak it into best.yaml:
    the run stops before training, naming both files."""
    work_dir = str(tmp_path / 'leak')
    text = _train(search_config, work_dir, env,
                  'val_dataloader.dataset.ann_file=meta/test.txt', ok=False)
    assert 'DenseNASArchHook selects the architecture' in text
    assert 'test.txt' in text and 'search_val.txt' in text
    assert not osp.exists(osp.join(work_dir, 'epoch_1.pth'))


@pytest.mark.slow
def test_interleaved_mode_runs(search_config, env, tmp_path):
    work_dir = str(tmp_path / 'interleaved')
    text = _train(search_config, work_dir, env, 'train_cfg.max_epochs=2',
                  'train_cfg.mode=interleaved', 'train_cfg.arch_interval=2')
    assert 'architecture pass' not in text
    assert 'Epoch(train) [2][4/4]' in text
    assert 'arch_loss_cost' in text
    first = _ckpt_state(osp.join(work_dir, 'epoch_1.pth'))
    second = _ckpt_state(osp.join(work_dir, 'epoch_2.pth'))
    assert any(not torch.equal(first[k], v)
               for k, v in _arch_params(second).items())


@pytest.mark.slow
def test_nan_stops_the_run_and_keeps_the_last_checkpoint(
        search_config, env, tmp_path):
    work_dir = str(tmp_path / 'nan')
    config = str(tmp_path / 'nan_config.py')
    with open(config, 'w') as f:
        f.write(f'_base_ = [{search_config!r}]\n' + NAN_HOOKS)
    text = _train(config, work_dir, env, ok=False)
    assert 'FloatingPointError: non-finite loss' in text
    assert 'arch step' in text and 'last checkpoint is intact' in text
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        assert f.read().strip().endswith('epoch_2.pth')
    assert not osp.exists(osp.join(work_dir, 'epoch_3.pth'))
    state = _ckpt_state(osp.join(work_dir, 'epoch_2.pth'))
    assert all(bool(torch.isfinite(v.float()).all()) for v in state.values())


def _failing_dist_run(search_config, env, tmp_path, port, name: str,
                      hooks: str, epochs: int):
    """2 gloo processes of the search config plus ``hooks``; must fail."""
    work_dir = str(tmp_path / name)
    config = str(tmp_path / f'{name}_config.py')
    with open(config, 'w') as f:
        f.write(f'_base_ = [{search_config!r}]\n' + hooks)
    cmd = [
        'bash', 'tools/dist_train.sh', config, '2', '--work-dir', work_dir,
        '--cfg-options', f'train_cfg.max_epochs={epochs}'
    ]
    text = _run(
        cmd, dict(env, PORT=str(port)), work_dir + '.out', ok=False,
        timeout=300)
    return work_dir, text


@pytest.mark.slow
def test_nan_on_one_rank_stops_every_rank(search_config, env, tmp_path,
                                          free_port):
    """Rank 1 alone diverges: both ranks stop (no rank left waiting in an
    all-reduce), the checkpoint of epoch 1 is intact."""
    work_dir, text = _failing_dist_run(
        search_config, env, tmp_path, free_port, 'dist_nan',
        NAN_HOOKS.replace('epoch=2', 'epoch=1, rank=1'), epochs=2)
    assert 'non-finite loss (nan on rank 1; 1 rank(s) affected)' in text
    assert 'non-finite loss (' in text and 'on rank 0; 1 rank(s)' in text
    state = _ckpt_state(osp.join(work_dir, 'epoch_1.pth'))
    assert all(bool(torch.isfinite(v.float()).all()) for v in state.values())


@pytest.mark.slow
def test_divergence_on_one_rank_stops_every_rank_before_saving(
        search_config, env, tmp_path, free_port):
    """Rank 1's loss explodes (finite): both ranks stop at the same step,
    nothing of the diverged epoch is saved, last_checkpoint is epoch 2."""
    work_dir, text = _failing_dist_run(search_config, env, tmp_path,
                                       free_port, 'dist_diverge',
                                       DIVERGE_HOOKS, epochs=3)
    assert 'diverged loss (' in text
    assert 'on rank 1; 1 rank(s) affected) in the weight step' in text
    assert 'on rank 0; 1 rank(s) affected) in the weight step' in text
    assert 'above 100 x the running median' in text
    assert 'so the last checkpoint is intact' in text
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        assert f.read().strip().endswith('epoch_2.pth')
    assert not osp.exists(osp.join(work_dir, 'epoch_3.pth'))


@pytest.mark.slow
def test_path_sampling_search_keeps_ranks_identical_and_resumes_exactly(
        search_config, env, tmp_path):
    """The path-sampling weight steps (one --cfg-options key): 2 gloo ranks
    sample the same paths (every parameter identical on both), and a run
    killed mid-epoch and resumed ends where the uninterrupted one ends."""
    option = ('--cfg-options', 'model.weight_paths=sampled')
    full_dir = str(tmp_path / 'path_full')
    text = _dist_train(search_config, full_dir, env, *option)
    assert "weight_paths='sampled'" in text
    states = [
        torch.load(
            osp.join(full_dir, f'state_rank{r}.pt'), weights_only=False)
        for r in (0, 1)
    ]
    buffers = ('running_mean', 'running_var', 'num_batches_tracked')
    compared = [k for k in states[0] if not k.endswith(buffers)]
    assert len(compared) > len(_arch_params(states[0]))
    for k in compared:
        assert torch.equal(states[0][k], states[1][k]), k
    resumed_dir = str(tmp_path / 'path_resumed')
    killed = _killed_config(search_config, tmp_path, epoch=2, it=1)
    _dist_train(killed, resumed_dir, env, *option, ok=False)
    text = _dist_train(search_config, resumed_dir, env, '--resume', *option)
    assert 'resumed epoch: 1' in text
    _assert_same_search(full_dir, resumed_dir, 2)


@pytest.mark.slow
def test_frozen_rank_stops_the_other_within_the_timeout(
        search_config, env, tmp_path, free_port):
    """Rank 1 stops answering (sleeps 300 s) with env_cfg.dist_cfg.timeout
    = 5: rank 0 fails in its next collective with one error line naming
    rank 1 and the timeout, and the launcher ends the job (no checkpoint
    of the interrupted epoch)."""
    work_dir, text = _failing_dist_run(search_config, env, tmp_path,
                                       free_port, 'dist_sleep', SLEEP_HOOKS,
                                       epochs=2)
    errors = [ln for ln in text.splitlines()
              if ln.startswith('error: ')]
    assert len(errors) == 1, text[-3000:]
    assert errors[0].startswith(
        'error: rank 0: a collective operation after 1 training '
        'iteration(s) (0 epoch(s) done) timed out after 5 s: another rank '
        '(rank 1) stopped answering '
        '(env_cfg.dist_cfg.timeout = 5 s)'), errors[0]
    assert 'env_cfg.dist_cfg.timeout=SECONDS' in errors[0]
    assert not osp.exists(osp.join(work_dir, 'epoch_1.pth'))
