"""The candidate settings of the search-quality study (issue 21, item 2):
the larger demo space and the larger retrain set load and build."""
import os.path as osp

import torch
from mmengine.config import Config

import densenas_mm  # noqa: F401
from densenas_mm.apis.random_arch import build_search_mutator
from densenas_mm.registry import MODELS
from densenas_mm.structures import DerivedArch
from helpers import REPO_ROOT

CONFIGS = osp.join(REPO_ROOT, 'configs')
WIDE_SPACE = osp.join(CONFIGS, '_base_', 'search_spaces',
                      'densenas_demo_wide_32.py')
WIDE_SEARCH = osp.join(CONFIGS, 'densenas',
                       'densenas_supernet-demowide_1xb32-20e_fmnist.py')
SUBNETS = osp.join(CONFIGS, 'densenas', 'subnets')


def test_wide_search_config_is_the_space_file():
    cfg = Config.fromfile(WIDE_SEARCH)
    space = Config.fromfile(WIDE_SPACE).search_space.to_dict()
    assert cfg.model.architecture.backbone.search_space.to_dict() == space
    assert space['stem_stride'] == 1 and len(space['widths']) == 8
    assert max(space['num_layers']) == 3
    assert cfg.model.estimator.lut.endswith(
        'densenas_demo_wide_32_cpu_b32_t1.json')


def test_wide_space_mutator_and_example_arch():
    mutator = build_search_mutator(WIDE_SEARCH)
    assert mutator.space.stem_stride == 1
    example = DerivedArch.load(
        osp.join(SUBNETS, 'archs', 'densenas_demo_wide_32_example.yaml'))
    assert example.stem_stride == 1
    assert max(len(b.stack_ops) for b in example.blocks) >= 2


def test_candidate_subnet_configs_build_and_read_their_data():
    from mmengine.registry import init_default_scope
    init_default_scope('mmcls')
    sizes = {}
    for name in ('demowide_1xb32-12e_fmnist', 'demo_1xb32-12e_fmnist10k',
                 'demowide_1xb32-12e_fmnist10k'):
        cfg = Config.fromfile(
            osp.join(SUBNETS, f'densenas_subnet-{name}.py'))
        model = MODELS.build(cfg.model)
        logits = model(torch.zeros(2, 3, 32, 32), mode='tensor')
        assert logits.shape == (2, 10)
        per_class = cfg.train_dataloader.dataset.per_class
        sizes[name] = 10 * (per_class.search_train + per_class.search_val)
        # the test split (the final evaluation) is the demo's in all
        assert cfg.test_dataloader.dataset.per_class.test == 1000
    assert sizes == {
        'demowide_1xb32-12e_fmnist': 2500,
        'demo_1xb32-12e_fmnist10k': 10000,
        'demowide_1xb32-12e_fmnist10k': 10000
    }
