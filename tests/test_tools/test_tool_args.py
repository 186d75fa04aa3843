"""Command line parsing of tools/train.py and tools/test.py, and the
config adaptation for distributed runs without CUDA (in-process, fast)."""
import os
import os.path as osp

import pytest
from mmengine.config import Config

from densenas_mm.apis.cfg_adjust import (adapt_cfg_for_cpu_distributed,
                                         sanitize_dataloaders)
from densenas_mm.apis.launch import merge_test_options, merge_train_options
from densenas_mm.utils.checkpoint import CheckpointError
from helpers import REPO_ROOT
from helpers.tools import load_tool as _load_tool

CONFIG = osp.join(REPO_ROOT, 'configs', 'baseline', 'mobilenet-v2_w0.5_1xb32-2e_digits.py')
SEARCH_CONFIG = osp.join(REPO_ROOT, 'configs', 'densenas',
                         'densenas_supernet-demo_1xb32-20e_digits.py')


@pytest.fixture(scope='module')
def train_tool():
    return _load_tool('train')


@pytest.fixture(scope='module')
def eval_tool():
    return _load_tool('test')


@pytest.mark.parametrize('flag', ['--local_rank', '--local-rank'])
def test_both_local_rank_spellings(train_tool, eval_tool, flag, monkeypatch):
    monkeypatch.delenv('LOCAL_RANK', raising=False)
    args = train_tool.parse_args([CONFIG, flag, '3'])
    assert args.local_rank == 3 and os.environ['LOCAL_RANK'] == '3'
    monkeypatch.setenv('LOCAL_RANK', '1')  # torchrun's value wins
    args = eval_tool.parse_args([CONFIG, 'x.pth', flag, '0'])
    assert args.local_rank == 0 and os.environ['LOCAL_RANK'] == '1'


def test_train_defaults_and_resume(train_tool):
    cfg = merge_train(train_tool, [CONFIG])
    assert cfg.work_dir == osp.join('./work_dirs', 'mobilenet-v2_w0.5_1xb32-2e_digits')
    assert cfg.launcher == 'none'
    assert cfg.resume is False and cfg.load_from is None
    assert cfg.train_cfg.max_epochs == 2
    assert cfg.optim_wrapper.optimizer.type == 'SGD'

    # --resume in a work dir with nothing to resume: an error, not a
    # fresh start ("resumed from None")
    with pytest.raises(CheckpointError,
                       match="nothing to resume in work dir 'w'"):
        merge_train(train_tool, [CONFIG, '--resume', '--work-dir', 'w'])

    cfg = merge_train(train_tool, [
        CONFIG, '--resume', 'a/epoch_1.pth', '--amp', '--cfg-options',
        'train_cfg.max_epochs=5'
    ])
    assert (cfg.resume, cfg.load_from) == (True, 'a/epoch_1.pth')
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.optim_wrapper.loss_scale == 'dynamic'
    assert cfg.train_cfg.max_epochs == 5


def merge_train(tool, argv, cfg=None):
    """The config a ``tools/train.py`` command line trains."""
    args = vars(tool.parse_args(argv))
    args.pop('local_rank')
    config = args.pop('config')
    return merge_train_options(cfg or Config.fromfile(config), config, **args)


def _amp_search_cfg(train_tool):
    return merge_train(train_tool, [SEARCH_CONFIG, '--amp'])


def test_amp_on_a_search_config_wraps_both_optimisers(train_tool):
    cfg = _amp_search_cfg(train_tool)
    ow = cfg.optim_wrapper
    assert 'type' not in ow
    assert ow.constructor == 'mmrazor.SeparateOptimWrapperConstructor'
    for part in ('architecture', 'mutator'):
        assert ow[part].type == 'AmpOptimWrapper'
    assert ow.architecture.loss_scale == 'dynamic'
    # the architecture scaler starts low: its first steps are not skipped
    assert ow.mutator.loss_scale == dict(init_scale=1024.0)
    assert ow.architecture.optimizer.lr == 0.1  # the config's, kept
    bad = Config.fromfile(SEARCH_CONFIG)
    bad.optim_wrapper.mutator.type = 'densenas_mm.AutocastOptimWrapper'
    with pytest.raises(ValueError, match='optim_wrapper.mutator.type'):
        merge_train(train_tool, [SEARCH_CONFIG, '--amp'], bad)


def test_amp_search_wrappers_build(train_tool, monkeypatch):
    """The two AmpOptimWrappers build through mmrazor's constructor. Without
    CUDA mmengine refuses AMP at construction, so the test tells it CUDA is
    there; the GradScalers then build disabled (no CUDA to scale on)."""
    import torch
    from mmengine.optim import AmpOptimWrapper, build_optim_wrapper
    from mmengine.optim.optimizer import amp_optimizer_wrapper

    from helpers.search import build_algorithm
    cfg = _amp_search_cfg(train_tool)
    algo = build_algorithm()
    if not torch.cuda.is_available():
        monkeypatch.setattr(amp_optimizer_wrapper, 'is_cuda_available',
                            lambda: True)
    wrappers = build_optim_wrapper(algo, cfg.optim_wrapper)
    assert set(wrappers.keys()) == {'architecture', 'mutator'}
    for name, wrapper in wrappers.items():
        assert isinstance(wrapper, AmpOptimWrapper), name
        assert hasattr(wrapper.loss_scaler, 'scale')
    # the scalers' start (a GradScaler without CUDA is disabled and keeps
    # no scale; the config test above checks the value it is built with)
    scales = {k: w.loss_scaler for k, w in wrappers.items()}
    if scales['mutator'].is_enabled():
        assert scales['mutator'].get_scale() == 1024.0
        assert scales['architecture'].get_scale() == 2.0**16
    arch_params = {id(p) for p in algo.mutator.arch_params.values()}
    mutator_group = wrappers['mutator'].optimizer.param_groups[0]['params']
    assert {id(p) for p in mutator_group} == arch_params


@pytest.mark.skipif(not __import__('torch').cuda.is_available(),
                    reason='AMP steps need CUDA')
def test_amp_search_steps_on_cuda(train_tool):
    import torch
    from mmengine.optim import build_optim_wrapper

    from densenas_mm.models.algorithms import search_batch
    from helpers.search import build_algorithm, fake_batch
    cfg = _amp_search_cfg(train_tool)
    algo = build_algorithm().cuda()
    wrappers = build_optim_wrapper(algo, cfg.optim_wrapper)
    before = {k: p.detach().clone()
              for k, p in algo.mutator.arch_params.items()}
    for phase in ('weight', 'arch'):
        out = algo.train_step(search_batch(fake_batch(), phase, 0), wrappers)
        assert all(torch.isfinite(v).all() for v in out.values())
    assert any(not torch.equal(before[k], p.detach())
               for k, p in algo.mutator.arch_params.items())


def test_test_tool_sets_checkpoint(eval_tool):
    args = eval_tool.parse_args([CONFIG, 'w/epoch_2.pth', '--out', 'm.json'])
    cfg = merge_test_options(Config.fromfile(CONFIG), CONFIG, args.checkpoint)
    assert cfg.load_from == 'w/epoch_2.pth' and cfg.resume is False
    assert args.out_item == 'metrics'
    # a missing checkpoint is refused before the runner is built (a
    # CheckpointError since issue 15: the tools print it as one error line)
    with pytest.raises(CheckpointError,
                       match="checkpoint 'does/not/exist.pth' does not exist"):
        eval_tool.main([CONFIG, 'does/not/exist.pth'])


def test_cpu_distributed_adaptation():
    cfg = Config.fromfile(CONFIG)
    assert cfg.env_cfg.dist_cfg.backend == 'nccl'
    assert adapt_cfg_for_cpu_distributed(cfg, 'none', False) == []
    assert adapt_cfg_for_cpu_distributed(cfg, 'pytorch', True) == []
    assert 'model_wrapper_cfg' not in cfg  # GPU runs: untouched

    changes = adapt_cfg_for_cpu_distributed(cfg, 'pytorch', False)
    assert len(changes) == 2
    assert cfg.env_cfg.dist_cfg.backend == 'gloo'
    assert cfg.model_wrapper_cfg.device_ids == []
    assert cfg.model_wrapper_cfg.broadcast_buffers is False
    assert cfg.model_wrapper_cfg.type == 'MMDistributedDataParallel'

    custom = Config(
        dict(
            env_cfg=dict(dist_cfg=dict(backend='gloo')),
            model_wrapper_cfg=dict(
                type='MMDistributedDataParallel', find_unused_parameters=True),
            sync_bn='torch'))
    changes = adapt_cfg_for_cpu_distributed(custom, 'slurm', False)
    assert len(changes) == 2  # device_ids and sync_bn; gloo kept
    assert custom.model_wrapper_cfg.device_ids == []
    assert custom.model_wrapper_cfg.find_unused_parameters is True
    assert custom.sync_bn is None


def test_sanitize_dataloaders():
    cfg = Config.fromfile(CONFIG)
    cfg.train_dataloader.num_workers = 0
    cfg.train_cfg.inner = [
        dict(dataset=dict(), num_workers=0, persistent_workers=True)
    ]
    sanitize_dataloaders(cfg)
    assert 'persistent_workers' not in cfg.train_dataloader
    assert 'persistent_workers' not in cfg.train_cfg.inner[0]
    assert cfg.val_dataloader.persistent_workers is True  # 2 workers: kept


def test_tools_put_the_safe_checkpoint_hook_in_place():
    from densenas_mm.apis.cfg_adjust import (SAFE_CHECKPOINT_HOOK,
                                             use_safe_checkpointing)
    cfg = Config(dict(default_hooks=dict(
        checkpoint=dict(type='CheckpointHook', interval=2))))
    assert len(use_safe_checkpointing(cfg)) == 1
    assert cfg.default_hooks.checkpoint.to_dict() == dict(
        type=SAFE_CHECKPOINT_HOOK, interval=2)
    assert use_safe_checkpointing(cfg) == []  # already the safe one
    cfg = Config(dict())
    assert use_safe_checkpointing(cfg) == [
        f'default_hooks.checkpoint = {SAFE_CHECKPOINT_HOOK}']
    custom = Config(dict(default_hooks=dict(checkpoint=dict(type='MyHook'))))
    assert use_safe_checkpointing(custom) == []
    assert custom.default_hooks.checkpoint.type == 'MyHook'
    disabled = Config(dict(default_hooks=dict(checkpoint=None)))
    assert use_safe_checkpointing(disabled) == []  # training: respected
    assert disabled.default_hooks.checkpoint is None
    assert len(use_safe_checkpointing(disabled, training=False)) == 1
    assert disabled.default_hooks.checkpoint.type == SAFE_CHECKPOINT_HOOK
