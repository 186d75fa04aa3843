"""Every DenseNAS config loads; the ImageNet-100 search configs carry the
paper's settings and (MBV2) build, (ResNet) bind their estimator."""
import copy
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

import densenas_mm  # noqa: F401
from densenas_mm.apis.derive import derive_search_length
from densenas_mm.registry import MODELS

from helpers import REPO_ROOT
CFG_DIR = osp.join(REPO_ROOT, 'configs', 'densenas')
MBV2 = osp.join(CFG_DIR, 'densenas_supernet-mbv2_4xb88-150e_in100.py')
RESNET = osp.join(CFG_DIR, 'densenas_supernet-resnet-r2_4xb128-70e_in100.py')
RESNET_R1 = osp.join(CFG_DIR,
                     'densenas_supernet-resnet-r1_4xb128-70e_in100.py')
ALL = sorted(
    glob.glob(osp.join(CFG_DIR, '*.py')) +
    glob.glob(osp.join(CFG_DIR, 'subnets', '*.py')) +
    glob.glob(osp.join(CFG_DIR, 'lab', '*.py')))


@pytest.mark.parametrize('path', ALL, ids=osp.basename)
def test_config_loads(path):
    cfg = Config.fromfile(path)
    assert cfg.model.type
    assert cfg.default_scope == 'mmcls'


def _common(cfg, warmup, epochs, batch):
    assert cfg.train_cfg.type == 'densenas_mm.DenseNASSearchLoop'
    assert cfg.train_cfg.max_epochs == epochs
    assert cfg.train_cfg.mode == 'epochwise'
    hooks = {h.type: h for h in cfg.custom_hooks}
    assert hooks['densenas_mm.DenseNASWarmupHook'].warmup_epochs == warmup
    assert 'densenas_mm.DenseNASArchHook' in hooks
    assert cfg.model_wrapper_cfg.type == 'densenas_mm.DenseNASDDP'
    assert cfg.env_cfg.dist_cfg.backend == 'nccl'
    assert cfg.train_dataloader.batch_size == batch
    assert cfg.train_cfg.arch_dataloader.batch_size == batch
    assert cfg.train_dataloader.dataset.ann_file.endswith('search_train.txt')
    assert cfg.train_cfg.arch_dataloader.dataset.ann_file.endswith(
        'search_val.txt')
    ow = cfg.optim_wrapper
    assert ow.constructor == 'mmrazor.SeparateOptimWrapperConstructor'
    sgd, adam = ow.architecture.optimizer, ow.mutator.optimizer
    assert (sgd.type, sgd.lr, sgd.momentum, sgd.weight_decay) == ('SGD', 0.2,
                                                                  0.9, 4e-5)
    assert (adam.type, adam.lr, tuple(adam.betas),
            adam.weight_decay) == ('Adam', 3e-4, (0.5, 0.999), 1e-3)
    cos = cfg.param_scheduler.architecture[0]
    assert (cos.type, cos.T_max, cos.eta_min) == ('CosineAnnealingLR', epochs,
                                                  1e-5)
    assert cos.convert_to_iter_based
    assert cfg.model.architecture.head.num_classes == 100
    assert 'label_smooth_val' not in cfg.model.architecture.head.loss


def test_mbv2_search_settings():
    cfg = Config.fromfile(MBV2)
    _common(cfg, warmup=50, epochs=150, batch=88)
    assert cfg.auto_scale_lr.base_batch_size == 352  # 4 x 88
    est = cfg.model.estimator
    assert est.metric == 'latency'
    # the paper's table, shipped converted (resources/latency/README.md)
    assert est.lut == cfg.lut_file == (
        'resources/latency/densenas_mbv2_224_ref_b32.json')
    assert osp.isfile(osp.join(REPO_ROOT, cfg.lut_file))
    assert (cfg.model.cost_loss.loss_weight, cfg.model.cost_loss.tau) == (0.15,
                                                                          15)
    assert cfg.model.architecture.backbone.route_temperature == 1.0
    assert cfg.model.architecture.backbone.search_space.input_size == 224


@pytest.mark.parametrize('path,tau', [(RESNET, 3500), (RESNET_R1, 1700)])
def test_resnet_search_settings(path, tau):
    cfg = Config.fromfile(path)
    _common(cfg, warmup=10, epochs=70, batch=128)
    assert cfg.auto_scale_lr.base_batch_size == 512
    est = cfg.model.estimator
    assert (est.metric, est.skip_reg) == ('flops', True)
    assert (cfg.model.cost_loss.loss_weight, cfg.model.cost_loss.tau) == (0.2,
                                                                          tau)
    assert cfg.model.architecture.backbone.route_temperature == 0.9


def _scope():
    if DefaultScope.get_current_instance() is None:
        DefaultScope.get_instance('densenas_cfg_tests', scope_name='mmcls')


def test_mbv2_search_model_builds(monkeypatch):
    """The full 224 / 100-class supernet (about 90 M params) with the
    config's own latency table, shipped with the project: no conversion
    step (configs use paths relative to the repository root)."""
    torch.set_num_threads(1)
    _scope()
    monkeypatch.chdir(REPO_ROOT)
    cfg = Config.fromfile(MBV2)
    algo = MODELS.build(copy.deepcopy(cfg.model))
    assert algo.estimator.metric == 'latency'
    space = algo.mutator.space
    assert (space.name, space.num_classes) == ('densenas_mbv2_224', 100)
    alphas, betas = algo.mutator.alphas(), algo.mutator.betas()
    # 51 head branches x 6 ops + 39 stacking layers x 7 ops (method doc 1.1)
    assert len(alphas) == 51 + 39
    assert sum(p.numel() for p in alphas.values()) == 51 * 6 + 39 * 7
    graph = algo.mutator.graph
    outs = [len(graph.outgoing[i]) for i in graph.nodes]
    assert sum(outs) == 54  # edges of the paper's graph
    # sources with a single out-edge have no beta to learn
    assert sum(p.numel() for p in betas.values()) == sum(n for n in outs
                                                         if n > 1)
    n_params = sum(p.numel() for p in algo.parameters())
    assert 50e6 < n_params < 150e6
    # ms on the TITAN-Xp at batch 32, uniform alpha / beta: between the
    # cheapest and the dearest net; DenseNAS-C (17.98 ms) lies in between
    assert 5 < algo.expected_cost() < 100


def test_resnet_search_model_builds():
    """The 178 M-param ResNet supernet builds in seconds; its FLOPs
    expectation under uniform alpha/beta lies between the cheapest and the
    dearest path of the space."""
    torch.set_num_threads(1)
    _scope()
    cfg = Config.fromfile(RESNET)
    algo = MODELS.build(copy.deepcopy(cfg.model))
    space = algo.mutator.space
    assert (space.name, space.num_classes) == ('densenas_resnet_224', 100)
    assert algo.mutator.graph.terminal == 21
    assert algo.estimator.skip_reg and algo.estimator.metric == 'flops'
    n_params = sum(p.numel() for p in algo.parameters())
    assert 150e6 < n_params < 210e6
    # MFLOPs of a 224 ResNet-18-sized net: between 0.5 and 10 GFLOPs
    assert 500 < algo.expected_cost() < 10000


DEMO = osp.join(CFG_DIR, 'densenas_supernet-demo_1xb32-20e_digits.py')
EVAL_224 = [('LoadImageFromFile', {}),
            ('ResizeEdge', dict(scale=256, edge='short')),
            ('CenterCrop', dict(crop_size=224)), ('PackClsInputs', {})]


def _steps(pipeline):
    return [(t['type'], {k: v for k, v in t.items() if k != 'type'})
            for t in pipeline]


@pytest.mark.parametrize('path,val_begin', [(MBV2, 121), (RESNET, 51),
                                            (RESNET_R1, 51)])
def test_paper_configs_follow_the_reference_where_it_matters(path, val_begin):
    cfg = Config.fromfile(path)
    arch = cfg.train_cfg.arch_dataloader
    # architecture steps: search-val through the evaluation transform
    assert _steps(arch.dataset.pipeline) == EVAL_224
    assert _steps(cfg.train_dataloader.dataset.pipeline)[1][0] == \
        'RandomResizedCrop'
    # supernet validation (selection) on search-val, from the reference's
    # epoch, top-2
    assert cfg.val_dataloader.dataset.ann_file.endswith('search_val.txt')
    assert _steps(cfg.val_dataloader.dataset.pipeline) == EVAL_224
    assert cfg.train_cfg.val_begin == val_begin
    hooks = {h.type: h for h in cfg.custom_hooks}
    assert hooks['densenas_mm.DenseNASArchHook'].topk == 2
    # optimiser semantics and terminal node of the reference code
    assert cfg.model.grad_zeroing == 'in_place'
    assert cfg.model.architecture.backbone.terminal_weights == 'softmax'
    # per-sample seeded augmentation on both search loaders
    for loader in (cfg.train_dataloader, arch):
        assert loader.dataset.type == 'densenas_mm.SeededDataset'
        assert loader.sampler.type == 'densenas_mm.SeededSampler'


def test_demo_search_config_selects_on_search_val(demo_data_root):
    from mmengine.runner import Runner
    cfg = Config.fromfile(DEMO)
    assert cfg.model.grad_zeroing == 'in_place'
    assert cfg.train_cfg.val_begin == 13  # after the 12 warm-up epochs
    assert cfg.val_dataloader.dataset.ann_file == 'meta/search_val.txt'
    _scope()
    loaders = {}
    for name, loader in (('arch', cfg.train_cfg.arch_dataloader),
                         ('weight', cfg.train_dataloader)):
        loader = copy.deepcopy(loader)
        loader.dataset.data_root = demo_data_root
        loader.update(num_workers=0, persistent_workers=False)
        loaders[name] = Runner.build_dataloader(loader, seed=0)
    arch_set = loaders['arch'].dataset
    # search-val (359 images) with the test transform: no random crop
    assert len(arch_set) == 359
    assert [type(t).__name__ for t in arch_set.dataset.pipeline.transforms
            ] == ['LoadImageFromFile', 'PackClsInputs']
    from densenas_mm.datasets import SampleKey
    first = arch_set[SampleKey(0, 0, 3)]['inputs']
    assert torch.equal(first, arch_set[SampleKey(0, 9, 3)]['inputs'])
    # the weight pass keeps its random crop: epochs differ
    weight_set = loaders['weight'].dataset
    crops = [weight_set[SampleKey(0, e, 3)]['inputs'] for e in range(6)]
    assert any(not torch.equal(crops[0], c) for c in crops[1:])


def test_classifier_init_is_pytorch_default_with_zero_bias():
    _scope()
    cfg = Config.fromfile(DEMO)
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.estimator.update(metric='flops', lut=None)
    algo = MODELS.build(model_cfg)
    algo.init_weights()
    fc = algo.architecture.head.fc
    weight = fc.weight.detach()
    bound = 1 / fc.in_features**0.5  # nn.Linear's kaiming-uniform bound
    assert float(weight.abs().max()) <= bound
    # uniform(-b, b): std b / sqrt(3) (mmcls's default would be 0.01)
    assert float(weight.std()) == pytest.approx(bound / 3**0.5, rel=0.05)
    assert torch.equal(fc.bias.detach(), torch.zeros_like(fc.bias))


LAB = osp.join(CFG_DIR, 'lab')


def test_lab_configs_change_one_thing_each():
    """The item-5 option configs differ from the demo search only in the
    option they name (and the uniform one in its longer warm-up, with the
    schedule following it)."""
    base = Config.fromfile(
        osp.join(CFG_DIR, 'densenas_supernet-demo_1xb32-20e_fmnist.py'))
    hooks = [h.type for h in base.custom_hooks]
    recal = Config.fromfile(
        osp.join(LAB, 'densenas_supernet-demo-bnrecal_1xb32-20e_fmnist.py'))
    assert [h.type for h in recal.custom_hooks] == hooks + [
        'densenas_mm.DenseNASBNRecalibrationHook']
    assert recal.custom_hooks[-1].batches == 20
    assert recal.model == base.model
    assert recal.custom_hooks[0] == base.custom_hooks[0]
    paths = Config.fromfile(
        osp.join(LAB,
                 'densenas_supernet-demo-pathsampled_1xb32-20e_fmnist.py'))
    assert paths.model.weight_paths == 'sampled'
    assert paths.train_cfg == base.train_cfg
    uni = Config.fromfile(
        osp.join(LAB, 'densenas_supernet-demo-uniform_1xb32-20e_fmnist.py'))
    assert uni.model.weight_sampling == 'uniform'
    assert uni.train_cfg == base.train_cfg
    # the longer warm-up of the lab run: the schedule follows the knob
    uni.merge_from_dict({'warmup_epochs': 15})
    changes = derive_search_length(uni, {'warmup_epochs'})
    assert (uni.train_cfg.max_epochs, uni.train_cfg.val_begin) == (25, 16)
    assert uni.param_scheduler.architecture[0].T_max == 25
    assert uni.custom_hooks[0].warmup_epochs == 15
    assert len(changes) == 4
    assert [h.type for h in uni.custom_hooks] == hooks
    for cfg in (recal, paths, uni):
        model = copy.deepcopy(cfg.model)
        model.estimator.update(metric='flops', lut=None)
        model.pop('cost_loss')
        if DefaultScope.get_current_instance() is None:
            DefaultScope.get_instance('densenas_lab_cfg', scope_name='mmcls')
        algo = MODELS.build(model)
        assert algo.weight_sampling == cfg.model.get('weight_sampling',
                                                     'alpha')
        assert algo.weight_paths == cfg.model.get('weight_paths', 'all')
