"""The search-length knobs: ``warmup_epochs`` / ``search_epochs`` set once
(also with ``--cfg-options``) drive ``max_epochs``, ``val_begin``, the
weights' cosine and the warm-up hook when the run is built."""
import os
import os.path as osp
import subprocess
import sys

import pytest
from mmengine.config import Config

from densenas_mm.apis.derive import (DeriveError, derive_run_config,
                                     derive_search_length)
from densenas_mm.apis.launch import merge_train_options
from densenas_mm.search_space import search_space_from_cfg

from helpers import REPO_ROOT
from helpers.estimators import synthetic_table

DIGITS = osp.join(REPO_ROOT, 'configs', 'densenas',
                  'densenas_supernet-demo_1xb32-20e_digits.py')
FMNIST = osp.join(REPO_ROOT, 'configs', 'densenas',
                  'densenas_supernet-demo_1xb32-20e_fmnist.py')
MBV2 = osp.join(REPO_ROOT, 'configs', 'densenas',
                'densenas_supernet-mbv2_4xb88-150e_in100.py')


def _schedule(cfg):
    hook = next(h for h in cfg.custom_hooks
                if h.type == 'densenas_mm.DenseNASWarmupHook')
    cos = cfg.param_scheduler.architecture[0]
    return (cfg.train_cfg.max_epochs, cfg.train_cfg.val_begin, cos.T_max,
            hook.warmup_epochs)


@pytest.mark.parametrize('path, parsed', [(DIGITS, (20, 13, 20, 12)),
                                          (FMNIST, (20, 11, 20, 10))])
def test_configs_as_parsed_are_already_consistent(path, parsed):
    cfg = Config.fromfile(path)
    assert _schedule(cfg) == parsed
    assert derive_run_config(cfg) == []  # nothing to change


def test_knobs_from_cfg_options_drive_the_schedule():
    cfg = merge_train_options(
        Config.fromfile(FMNIST), FMNIST,
        cfg_options=dict(search_epochs=2, warmup_epochs=1))
    assert _schedule(cfg) == (3, 2, 3, 1)
    assert derive_run_config(cfg) == []  # idempotent


def test_explicit_derived_key_wins():
    derived = []
    cfg = merge_train_options(
        Config.fromfile(FMNIST), FMNIST, derived=derived,
        cfg_options={'warmup_epochs': 1, 'search_epochs': 2,
                     'train_cfg.max_epochs': 5})
    assert _schedule(cfg) == (5, 2, 3, 1)
    assert derived == [
        'train_cfg.val_begin: 11 -> 2 (warmup_epochs=1, search_epochs=2)',
        'param_scheduler.architecture.0.T_max: 20 -> 3 (warmup_epochs=1, '
        'search_epochs=2)',
        'custom_hooks.0.warmup_epochs: 10 -> 1 (warmup_epochs=1, '
        'search_epochs=2)'
    ]
    # the old way (four keys, no knob) still gives what it gave
    cfg = merge_train_options(
        Config.fromfile(FMNIST), FMNIST,
        cfg_options={'train_cfg.max_epochs': 4, 'train_cfg.val_begin': 3,
                     'custom_hooks.0.warmup_epochs': 2,
                     'param_scheduler.architecture.0.T_max': 4})
    assert _schedule(cfg) == (4, 3, 4, 2)


def test_a_child_config_keeps_the_derived_keys_it_sets(tmp_path):
    """A config that inherits the knob schedule and sets the derived keys
    itself (as the search-run tests do) keeps them: only knobs given in
    --cfg-options re-derive the schedule."""
    child = tmp_path / 'child.py'
    child.write_text(
        f'_base_ = [{FMNIST!r}]\n'
        'train_cfg = dict(max_epochs=3, val_begin=1)\n'
        'custom_hooks = [\n'
        "    dict(type='densenas_mm.DenseNASWarmupHook', warmup_epochs=1),\n"
        "    dict(type='densenas_mm.DenseNASArchHook')]\n")
    derived = []
    cfg = merge_train_options(Config.fromfile(str(child)), str(child),
                              derived=derived)
    assert (cfg.train_cfg.max_epochs, cfg.train_cfg.val_begin,
            cfg.custom_hooks[0].warmup_epochs) == (3, 1, 1)
    assert derived == []
    # with a knob on the command line the schedule follows the knobs
    cfg = merge_train_options(Config.fromfile(str(child)), str(child),
                              cfg_options=dict(search_epochs=4))
    assert (cfg.train_cfg.max_epochs, cfg.train_cfg.val_begin,
            cfg.custom_hooks[0].warmup_epochs) == (14, 11, 10)


def test_configs_without_knobs_are_untouched():
    cfg = Config.fromfile(MBV2)
    assert derive_search_length(cfg) == []
    assert _schedule(cfg) == (150, 121, 150, 50)


@pytest.mark.parametrize('knobs, message', [
    (dict(search_epochs=0), 'search_epochs must be an int >= 1, got 0'),
    (dict(warmup_epochs=-1), 'warmup_epochs must be an int >= 0, got -1'),
    (dict(warmup_epochs='3'), "warmup_epochs must be an int >= 0, got '3'"),
])
def test_bad_knobs_are_refused(knobs, message):
    cfg = Config.fromfile(FMNIST)
    cfg.merge_from_dict(knobs)
    with pytest.raises(DeriveError, match=message):
        derive_run_config(cfg)


def test_knobs_alone_give_a_search_with_best_yaml(tmp_path, tool_env):
    """``--cfg-options search_epochs=2 warmup_epochs=1`` (plus a table and
    a data subset for the test's speed) gives a search that updates the
    architecture and writes best.yaml."""
    lut = str(tmp_path / 'demo_lut.json')
    synthetic_table(search_space_from_cfg(DIGITS)).save(lut)
    work = str(tmp_path / 'search')
    shrink = [f'{loader}.{key}' for loader in (
        'train_dataloader', 'val_dataloader', 'train_cfg.arch_dataloader')
              for key in ('num_workers=0', 'dataset.indices=64')]
    out = subprocess.run(
        [sys.executable, 'tools/train.py', DIGITS, '--work-dir', work,
         '--cfg-options', 'search_epochs=2', 'warmup_epochs=1',
         f'model.estimator.lut={lut}', 'model.estimator.target_device=None',
         *shrink],
        cwd=REPO_ROOT, env=tool_env, capture_output=True, text=True,
        timeout=900)
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-4000:]
    assert 'Epoch(arch) [2]' in log and 'Epoch(arch) [3]' in log
    assert 'Epoch(arch) [1]' not in log  # warm-up: weights only
    assert 'Epoch(val) [2]' in log and 'Epoch(val) [1]' not in log
    arch = os.listdir(osp.join(work, 'arch'))
    assert {'best.yaml', 'top2.yaml', 'epoch_3.yaml'} <= set(arch)
