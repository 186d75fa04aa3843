"""End-to-end DenseNAS searches through tools/train.py and dist_train.sh.

Every run is a subprocess on the demo data, shrunk by a generated config
that inherits the demo search config: 64 search-train / 32 search-val
images, batch 16, no random augmentation (so a resumed run can be compared
number for number), warm-up 1 epoch, a tiny latency table built in a
fixture with stand-in timings. Each run takes 10-25 s on 2 shared cores,
most of it start-up.
"""
import glob
import os
import os.path as osp
import subprocess
import sys
import zlib
from typing import Dict, List

import pytest
import torch
import yaml

from helpers import REPO_ROOT

TESTS = osp.join(REPO_ROOT, 'tests')
DEMO_CONFIG = osp.join(REPO_ROOT, 'configs', 'densenas',
                       'densenas_supernet-demo_1xb32-20e_digits.py')

TEST_CONFIG = '''
_base_ = [{demo!r}]
custom_imports = dict(
    imports=['densenas_mm', 'helpers.search_hooks'], allow_failed_imports=False)
lut_file = {lut!r}
model = dict(estimator=dict(lut=lut_file))
_pipe = [dict(type='LoadImageFromFile'), dict(type='PackClsInputs')]
train_dataloader = dict(
    batch_size=16, num_workers=0, persistent_workers=False,
    dataset=dict(indices=64, pipeline=_pipe))
val_dataloader = dict(
    batch_size=16, num_workers=0, persistent_workers=False,
    dataset=dict(indices=32))
train_cfg = dict(
    max_epochs=3, val_interval=1,
    arch_dataloader=dict(
        batch_size=16, num_workers=0, persistent_workers=False,
        dataset=dict(indices=32, pipeline=_pipe)))
custom_hooks = [
    dict(type='densenas_mm.DenseNASWarmupHook', warmup_epochs=1),
    dict(type='densenas_mm.DenseNASArchHook'),
    dict(type='densenas_mm.DenseNASTestDumpHook'),
]
default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(interval=1, max_keep_ckpts=3))
randomness = dict(seed=0, deterministic=True)
'''

# NaN weights from the start of the third epoch (0-based 2)
NAN_HOOKS = '''
custom_hooks = [
    dict(type='densenas_mm.DenseNASWarmupHook', warmup_epochs=1),
    dict(type='densenas_mm.DenseNASTestNaNHook', epoch=2),
]
'''
# the search config's hooks plus a kill after epoch 2
KILL_HOOKS = '''
custom_hooks = [
    dict(type='densenas_mm.DenseNASWarmupHook', warmup_epochs=1),
    dict(type='densenas_mm.DenseNASArchHook'),
    dict(type='densenas_mm.DenseNASTestKillHook', epoch=2),
]
'''


def _fake_measure(sigs, device, act, rounds, **timing):
    """Deterministic positive 'latency' per signature (0.05-1.05 ms), the
    same in every round."""
    return {
        s.key: [[0.05 + (zlib.crc32(s.key.encode()) % 1000) / 1000]] * rounds
        for s in sigs
    }


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
        measure=_fake_measure)
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
                'arch_alpha_entropy', 'arch_beta_entropy', 'derived_latency',
                'accuracy/top1'):
        assert key in text, key
    arch_dir = osp.join(work_dir, 'arch')
    for name in ('epoch_1.yaml', 'epoch_3.yaml', 'epoch_3.net_config',
                 'last.yaml', 'best.yaml'):
        assert osp.isfile(osp.join(arch_dir, name)), name
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


@pytest.mark.slow
def test_resume_matches_uninterrupted_run(full_run, search_config, env,
                                          tmp_path):
    work_dir = str(tmp_path / 'resumed')
    # the same 3-epoch run, killed after epoch 2 was saved, then resumed
    killed = str(tmp_path / 'killed_config.py')
    with open(killed, 'w') as f:
        f.write(f'_base_ = [{search_config!r}]\n' + KILL_HOOKS)
    _train(killed, work_dir, env, ok=False)
    assert not osp.exists(osp.join(work_dir, 'epoch_3.pth'))
    text = _train(search_config, work_dir, env, extra=['--resume'])
    assert 'resumed epoch: 2' in text
    # the warm-up hook puts a resumed run straight into the search phase
    assert 'Epoch(search) [3] architecture pass: 2 steps' in text
    assert 'Epoch(train) [1]' not in text
    full_dir = full_run['work_dir']
    with open(osp.join(full_dir, 'arch', 'epoch_3.yaml')) as f:
        full_arch = yaml.safe_load(f)['densenas_arch']
    with open(osp.join(work_dir, 'arch', 'epoch_3.yaml')) as f:
        resumed_arch = yaml.safe_load(f)['densenas_arch']
    for key in ('path', 'blocks', 'net_config', 'meta'):
        assert full_arch[key] == resumed_arch[key], key
    full = _ckpt_state(osp.join(full_dir, 'epoch_3.pth'))
    resumed = _ckpt_state(osp.join(work_dir, 'epoch_3.pth'))
    assert full.keys() == resumed.keys()
    for k in _arch_params(full):
        assert torch.allclose(full[k], resumed[k], atol=1e-6, rtol=0), k
    worst = max(
        float((full[k].float() - resumed[k].float()).abs().max())
        for k in full)
    assert worst < 1e-5
    # both optimisers were restored: the mutator's Adam state matches
    ckpts = [
        torch.load(
            osp.join(d, 'epoch_3.pth'), map_location='cpu',
            weights_only=False)['optimizer'] for d in (full_dir, work_dir)
    ]
    for name in ('architecture', 'mutator'):
        a, b = ckpts[0][name]['state'], ckpts[1][name]['state']
        assert a.keys() == b.keys(), name
        for idx in a:
            for key, val in a[idx].items():
                if torch.is_tensor(val):
                    assert torch.allclose(
                        val, b[idx][key], atol=1e-5), (name, idx, key)


@pytest.mark.slow
def test_two_process_search_keeps_ranks_identical(search_config, env, tmp_path,
                                                  free_port):
    work_dir = str(tmp_path / 'dist')
    cmd = [
        'bash', 'tools/dist_train.sh', search_config, '2', '--work-dir',
        work_dir, '--cfg-options', 'train_cfg.max_epochs=2'
    ]
    text = _run(cmd, dict(env, PORT=str(free_port)), work_dir + '.out')
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


@pytest.mark.slow
def test_nan_on_one_rank_stops_every_rank(search_config, env, tmp_path,
                                          free_port):
    """Rank 1 alone diverges: both ranks stop (no rank left waiting in an
    all-reduce), the checkpoint of epoch 1 is intact."""
    work_dir = str(tmp_path / 'dist_nan')
    config = str(tmp_path / 'dist_nan_config.py')
    with open(config, 'w') as f:
        f.write(f'_base_ = [{search_config!r}]\n' +
                NAN_HOOKS.replace('epoch=2', 'epoch=1, rank=1'))
    cmd = [
        'bash', 'tools/dist_train.sh', config, '2', '--work-dir', work_dir,
        '--cfg-options', 'train_cfg.max_epochs=2'
    ]
    text = _run(
        cmd,
        dict(env, PORT=str(free_port)),
        work_dir + '.out',
        ok=False,
        timeout=240)
    assert 'non-finite loss (nan on rank 1; 1 rank(s) affected)' in text
    assert 'non-finite loss (' in text and 'on rank 0; 1 rank(s)' in text
    state = _ckpt_state(osp.join(work_dir, 'epoch_1.pth'))
    assert all(bool(torch.isfinite(v.float()).all()) for v in state.values())
