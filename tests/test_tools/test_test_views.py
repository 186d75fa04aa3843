"""tools/test.py: mmcls's --show-dir / --tta on a derived net, the hint
when a search checkpoint meets a subnet config (and the reverse), and
clean logs (no warning the user cannot act on)."""
import os
import os.path as osp
import subprocess
import sys
import warnings

import pytest
import torch

from densenas_mm.apis.launch import run_test
from densenas_mm.apis.model_io import build_classifier
from densenas_mm.apis.run_checks import RunConfigError
from densenas_mm.utils.checkpoint import CheckpointError
from densenas_mm.utils.state_fit import check_state_fits

from helpers import REPO_ROOT
from helpers.search import build_algorithm
from helpers.tools import load_tool

SUBNET = osp.join(REPO_ROOT, 'configs/densenas/subnets/'
                  'densenas_subnet-demo_1xb32-10e_digits.py')
SEARCH = osp.join(REPO_ROOT, 'configs/densenas/'
                  'densenas_supernet-demo_1xb32-20e_digits.py')
LOADER = ['test_dataloader.num_workers=0', 'test_dataloader.batch_size=8',
          'test_dataloader.dataset.indices=8']


@pytest.fixture(scope='module')
def ckpts(tmp_path_factory):
    folder = tmp_path_factory.mktemp('views')
    torch.manual_seed(0)
    subnet = build_classifier(SUBNET)
    sub = str(folder / 'subnet.pth')
    torch.save(dict(state_dict=subnet.state_dict(), meta=dict(epoch=1)), sub)
    search = build_algorithm()  # the demo search config's DenseNAS model
    sup = str(folder / 'search.pth')
    torch.save(dict(state_dict=search.state_dict(), meta=dict(epoch=1)), sup)
    return dict(subnet=sub, search=sup, sub_state=subnet.state_dict(),
                sup_state=search.state_dict())


def test_search_checkpoint_on_subnet_config_names_the_converter(ckpts):
    with pytest.raises(CheckpointError) as info:
        check_state_fits(ckpts['sub_state'], ckpts['sup_state'], 's.pth')
    text = str(info.value)
    assert "'s.pth' is a DenseNAS search (supernet) checkpoint" in text
    assert ('python tools/model_converters/supernet_to_subnet.py s.pth '
            'WORK_DIR/arch/best.yaml subnet.pth --config SUBNET_CONFIG'
            ) in text


def test_subnet_checkpoint_on_search_config_says_which_config(ckpts):
    with pytest.raises(CheckpointError) as info:
        check_state_fits(ckpts['sup_state'], ckpts['sub_state'], 'n.pth')
    assert ("'n.pth' holds a plain classifier (e.g. a retrained derived "
            'net) and this config builds a DenseNAS search') in str(
                info.value)


def test_test_tool_prints_the_hint(ckpts, demo_data_root, monkeypatch,
                                   tmp_path, capsys):
    monkeypatch.setenv('DENSENAS_DEMO_DATA', demo_data_root)
    status = load_tool('test.py').main.__globals__['run_cli'](
        lambda: load_tool('test.py').main(
            [SUBNET, ckpts['search'], '--work-dir', str(tmp_path),
             '--cfg-options', *LOADER]))
    err = capsys.readouterr().err
    assert status == 1 and err.startswith('error: ')
    assert 'tools/model_converters/supernet_to_subnet.py' in err


def _test(ckpt, work, **kwargs):
    return run_test(SUBNET, ckpt, work_dir=work, cfg_options={
        'test_dataloader.num_workers': 0,
        'test_dataloader.batch_size': 8,
        'test_dataloader.dataset.indices': 8}, **kwargs)


def _log(work):
    logs = [osp.join(r, f) for r, _, fs in os.walk(work) for f in fs
            if f.endswith('.log')]
    with open(logs[0]) as f:
        return f.read()


def test_show_dir_on_a_derived_net(ckpts, demo_data_root, monkeypatch,
                                   tmp_path):
    monkeypatch.setenv('DENSENAS_DEMO_DATA', demo_data_root)
    work = str(tmp_path / 'work')
    vis = tmp_path / 'vis'
    metrics = _test(ckpts['subnet'], work, show_dir=str(vis), interval=2)
    assert set(metrics) == {'accuracy/top1', 'accuracy/top5'}
    assert len(list(vis.glob('*.png'))) == 4  # 8 images, every 2nd


def test_tta_on_a_derived_net(ckpts, demo_data_root, monkeypatch, tmp_path):
    monkeypatch.setenv('DENSENAS_DEMO_DATA', demo_data_root)
    work = str(tmp_path / 'work')
    metrics = _test(ckpts['subnet'], work, tta=True)
    assert set(metrics) == {'accuracy/top1', 'accuracy/top5'}
    # the classifier's weights loaded into the TTA wrapper, every key
    log = _log(work)
    assert 'AverageClsScoreTTA' in log and 'Load checkpoint from' in log
    assert 'do not match exactly' not in log and 'missing keys' not in log
    with pytest.raises(RunConfigError, match='cannot be combined'):
        _test(ckpts['subnet'], work, tta=True, show_dir=str(tmp_path))


def test_show_dir_and_tta_refused_for_a_search_config(ckpts, tmp_path):
    with pytest.raises(RunConfigError, match='apply to a classifier config'):
        run_test(SEARCH, ckpts['search'], work_dir=str(tmp_path), tta=True)


def test_no_mmcv_lite_warning_and_no_grad_warning():
    """A tool prints no mmcv-lite op warning (filtered at its source
    only)."""
    env = dict(os.environ)
    env.pop('PYTHONWARNINGS', None)
    out = subprocess.run(
        [sys.executable, '-W', 'default', 'tools/analysis/get_flops.py',
         SUBNET], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
        timeout=300)
    assert out.returncode == 0, out.stderr
    assert 'MultiScaleDeformableAttention' not in out.stderr
    assert 'input shape: (1, 3, 32, 32) (from the architecture' in out.stdout
    # (the search logger's values that require grad: test_logger_hook_window)
    # other warnings of mmcv's module still show
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter('default')
        import densenas_mm.compat as compat
        compat._silence_mmcv_lite_ops_warning()
        warnings.warn_explicit('another warning', UserWarning, 'x.py', 1,
                               module='mmcv.cnn.bricks.transformer')
    assert [str(w.message) for w in seen] == ['another warning']
