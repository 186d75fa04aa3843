"""OpenMMLab packaging: model-index.yml, the metafile, auto_scale_lr."""
import copy
import glob
import os.path as osp
import re

import pytest
import yaml
from mmengine.config import Config

from helpers import REPO_ROOT

CONFIGS = sorted(
    p for p in glob.glob(osp.join(REPO_ROOT, 'configs', '**', '*.py'),
                         recursive=True) if '_base_' not in p)


def _yaml(rel):
    with open(osp.join(REPO_ROOT, rel), encoding='utf-8') as f:
        return yaml.safe_load(f)


def test_model_index_lists_every_metafile():
    index = _yaml('model-index.yml')
    metafiles = sorted(
        osp.relpath(p, REPO_ROOT)
        for p in glob.glob(osp.join(REPO_ROOT, 'configs', '**',
                                    'metafile.yml'), recursive=True))
    assert sorted(index['Import']) == metafiles == [
        'configs/densenas/metafile.yml'
    ]


def test_metafile_states_published_numbers_as_published():
    meta = _yaml('configs/densenas/metafile.yml')
    (collection, ) = meta['Collections']
    assert osp.isfile(osp.join(REPO_ROOT, collection['README']))
    assert osp.isfile(osp.join(REPO_ROOT, collection['Code']['URL']))
    models = {m['Name']: m for m in meta['Models']}
    assert len(models) == 4
    for name, model in models.items():
        cfg = osp.join(REPO_ROOT, model['Config'])
        assert osp.isfile(cfg), name
        assert osp.splitext(osp.basename(cfg))[0] == name
        assert model['In Collection'] == 'DenseNAS'
        # nothing trained with this code yet: no results, no weights
        assert model['Results'] is None, name
        assert 'Weights' not in model, name
    c = models['densenas_subnet-c_8xb128-240e_in1k']['Metadata']
    assert c['Published Top 1 Accuracy'] == 75.3
    assert 'not reproduced' in c['Published Results Source']
    # measured on the config's model (tests/test_apis/test_complexity_
    # report.py counts the same numbers)
    assert (c['FLOPs'], c['Parameters']) == (360808256, 6134144)


def _total_batch(path):
    """``N x B`` from a config name in the ``{N}xb{B}`` scheme."""
    match = re.search(r'_(\d+)xb(\d+)-', osp.basename(path))
    return int(match.group(1)) * int(match.group(2)) if match else None


@pytest.mark.parametrize('path', CONFIGS,
                         ids=lambda p: osp.relpath(p, REPO_ROOT))
def test_auto_scale_lr_in_every_training_config(path):
    cfg = Config.fromfile(path)
    assert 'optim_wrapper' in cfg
    base = cfg.auto_scale_lr.base_batch_size
    expected = _total_batch(path)
    assert expected is not None, osp.basename(path)
    assert base == expected


#: OpenMMLab's config names: {algo}_{module}_{N}xb{B}-{E}e_{data}.py
CONFIG_NAME = re.compile(r'^[a-z0-9.-]+_[a-z0-9.-]+_(\d+)xb(\d+)-(\d+)e_'
                         r'[a-z0-9]+\.py$')


@pytest.mark.parametrize('path', CONFIGS,
                         ids=lambda p: osp.relpath(p, REPO_ROOT))
def test_every_config_name_follows_the_scheme(path):
    match = CONFIG_NAME.match(osp.basename(path))
    assert match, osp.basename(path)
    # the epochs in the name are the config's
    cfg = Config.fromfile(path)
    assert cfg.train_cfg.max_epochs == int(match.group(3))


def test_auto_scale_lr_scales_both_search_optimisers(tmp_path):
    """mmengine's Runner.scale_lr on the demo search at batch 16: the
    weights' SGD and the alpha/beta Adam both run at half their lr."""
    from mmengine.runner import Runner
    cfg = Config.fromfile(
        osp.join(REPO_ROOT, 'configs', 'densenas',
                 'densenas_supernet-demo_1xb32-20e_digits.py'))
    cfg.work_dir = str(tmp_path)
    cfg.model.estimator.update(metric='flops', lut=None)
    cfg.train_dataloader.batch_size = 16
    cfg.auto_scale_lr.enable = True
    runner = Runner.from_cfg(copy.deepcopy(cfg))
    wrappers = runner.build_optim_wrapper(runner.optim_wrapper)
    runner.scale_lr(wrappers, runner.auto_scale_lr)
    lrs = {k: w.optimizer.param_groups[0]['lr'] for k, w in wrappers.items()}
    assert lrs == pytest.approx(
        dict(architecture=cfg.optim_wrapper.architecture.optimizer.lr / 2,
             mutator=cfg.optim_wrapper.mutator.optimizer.lr / 2))
