"""The search loop compares the latency table with the run's real setting
(architecture loader batch size, autocast dtype, memory format) before the
first step. A real Runner of the demo search config, in-process."""
import dataclasses
import os.path as osp

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.runner import Runner

import densenas_mm  # noqa: F401
from densenas_mm.apis.cfg_adjust import sanitize_dataloaders
from densenas_mm.engine.optim import compute_dtype
from densenas_mm.latency import LatencyTableError
from densenas_mm.registry import OPTIM_WRAPPERS
from densenas_mm.search_space import load_preset
from helpers import REPO_ROOT
from helpers.estimators import synthetic_table

SEARCH_CFG = osp.join(REPO_ROOT, 'configs/densenas/'
                      'densenas_supernet-demo_1xb32-20e_digits.py')


def _runner(tmp_path, lut, **model):
    cfg = Config.fromfile(SEARCH_CFG)
    cfg.merge_from_dict({
        'model.estimator.lut': lut,
        'model.estimator.target_device': None,
        'train_dataloader.num_workers': 0,
        'train_dataloader.dataset.indices': 16,
        'train_cfg.arch_dataloader.num_workers': 0,
        'train_cfg.arch_dataloader.batch_size': 16,
        'train_cfg.arch_dataloader.dataset.indices': 16,
        'val_dataloader.num_workers': 0,
        'train_cfg.max_epochs': 1,
        **{f'model.{k}': v
           for k, v in model.items()}
    })
    sanitize_dataloaders(cfg)
    cfg.work_dir = str(tmp_path / 'work')
    cfg.experiment_name = f'cost_setting_{tmp_path.name}'
    return Runner.from_cfg(cfg)


def test_table_of_another_setting_stops_the_search_before_a_step(
        tmp_path, demo_data_root, monkeypatch):
    monkeypatch.setenv('DENSENAS_DEMO_DATA', demo_data_root)
    space = load_preset('densenas_demo_32')
    lut = str(tmp_path / 'lut.json')
    synthetic_table(space, batch_size=32, dtype='bfloat16').save(lut)
    runner = _runner(tmp_path, lut, **{'estimator.on_mismatch': 'error'})
    with pytest.raises(LatencyTableError) as err:
        runner.train()
    message = str(err.value)
    assert 'measured at batch size 32 but is used for batch size 16' in \
        message
    assert 'measured at dtype bfloat16 but is used for dtype float32' in \
        message
    assert runner.iter == 0
    assert not osp.exists(osp.join(runner.work_dir, 'epoch_1.pth'))
    # the run's setting as the loop reads it
    loop = runner.train_loop
    assert loop.run_setting() == dict(
        batch_size=16, dtype='float32', memory_format='contiguous')
    loop.algorithm.channels_last = True
    assert loop.run_setting()['memory_format'] == 'channels_last'
    est = loop.algorithm.estimator
    est.target = dataclasses.replace(est.target, on_mismatch='warn')
    with pytest.warns(UserWarning):
        msgs = loop.check_cost_setting()
    assert len(msgs) == 3  # batch, dtype and memory format


def test_compute_dtype_of_the_wrappers():
    model = nn.Linear(2, 2)
    plain = OPTIM_WRAPPERS.build(
        dict(type='OptimWrapper', optimizer=torch_sgd(model)))
    assert compute_dtype(plain, model) == 'float32'
    assert compute_dtype(plain, model.double()) == 'float64'
    bf16 = OPTIM_WRAPPERS.build(
        dict(type='densenas_mm.AutocastOptimWrapper', dtype='bfloat16',
             optimizer=torch_sgd(model)))
    assert compute_dtype(bf16, model) == 'bfloat16'


def torch_sgd(model):
    return torch.optim.SGD(model.parameters(), lr=0.1)
