"""Issue 25's silent and unclear cases through the tools (in process, as
``python tools/X.py`` runs them: ``main`` under ``run_cli``): each ends with
one ``error:`` line that names the option or file and the fix, before
anything is built or trained.
"""
import os.path as osp
import pickle

import pytest
import torch

import densenas_mm  # noqa: F401
from densenas_mm.apis.cli import run_cli
from densenas_mm.apis.model_io import build_classifier
from helpers import REPO_ROOT
from helpers.tools import load_tool

SUBNET_CFG = osp.join(REPO_ROOT, 'configs/densenas/subnets/'
                      'densenas_subnet-demo_1xb32-10e_digits.py')
SEARCH_CFG = osp.join(REPO_ROOT, 'configs/densenas/'
                      'densenas_supernet-demo_1xb32-20e_digits.py')
BASELINE_CFG = osp.join(REPO_ROOT, 'configs/baseline/'
                        'mobilenet-v2_w0.5_1xb32-2e_digits.py')


def _error(capsys, tool, *argv):
    """Exit status and the ``error:`` lines of ``tools/<tool>``."""
    status = run_cli(lambda: load_tool(tool).main(list(argv)))
    lines = [ln for ln in capsys.readouterr().err.splitlines()
             if ln.startswith('error')]
    return status, lines


# ------------------------------------------------ options at load time
OPTION_CASES = [
    # (id, config, option, fragments)
    ('subnet_max_epochs_0', SUBNET_CFG, 'train_cfg.max_epochs=0',
     ['train_cfg.max_epochs must be >= 1, got 0']),
    ('subnet_max_epochs_-1', SUBNET_CFG, 'train_cfg.max_epochs=-1',
     ['train_cfg.max_epochs must be >= 1, got -1']),
    ('search_max_epochs_0', SEARCH_CFG, 'train_cfg.max_epochs=0',
     ['train_cfg.max_epochs must be >= 1, got 0']),
    ('search_max_epochs_-1', SEARCH_CFG, 'train_cfg.max_epochs=-1',
     ['train_cfg.max_epochs must be >= 1, got -1']),
    ('max_epochs_text', SUBNET_CFG, 'train_cfg.max_epochs=ten',
     ["train_cfg.max_epochs must be an integer, got 'ten' (str)"]),
    ('max_epochs_float', SEARCH_CFG, 'train_cfg.max_epochs=2.0',
     ['train_cfg.max_epochs must be an integer, got 2.0 (float); write 2']),
    ('loss_weight_nan', SEARCH_CFG, 'model.cost_loss.loss_weight=nan',
     ['model.cost_loss.loss_weight must be a finite number, got nan']),
    ('loss_weight_inf', SEARCH_CFG, 'model.cost_loss.loss_weight=inf',
     ['model.cost_loss.loss_weight must be a finite number, got inf']),
    ('loss_weight_text', SEARCH_CFG, 'model.cost_loss.loss_weight=high',
     ["model.cost_loss.loss_weight must be a number, got 'high' (str)"]),
    ('sample_seed_text', SEARCH_CFG, 'model.sample_seed=abc',
     ["model.sample_seed must be an integer, got 'abc' (str)"]),
    ('budget_window_1', SEARCH_CFG, 'budget_window=1.0',
     ['budget_window must lie in [0, 1)', 'got 1.0']),
    ('budget_window_text', SEARCH_CFG, 'budget_window=wide',
     ["budget_window must be a number, got 'wide' (str)"]),
    ('custom_hooks_missing', BASELINE_CFG, 'custom_hooks.0.priority=1',
     ['--cfg-options custom_hooks.0.priority=...: the config has no '
      'custom_hooks list, so there is no entry 0 to change',
      '"custom_hooks=[dict(type=...)]"']),
    ('custom_hooks_past_the_end', SEARCH_CFG, 'custom_hooks.7.priority=1',
     ['custom_hooks has 3 entries, so there is no entry 7 to change']),
]


@pytest.mark.parametrize(
    'config, option, fragments', [c[1:] for c in OPTION_CASES],
    ids=[c[0] for c in OPTION_CASES])
def test_bad_option_is_one_error_line(tmp_path, capsys, config, option,
                                      fragments):
    status, lines = _error(capsys, 'train.py', config, '--work-dir',
                           str(tmp_path), '--cfg-options', option)
    assert status == 1 and len(lines) == 1, lines
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_work_dir_that_is_a_file(tmp_path, capsys):
    afile = tmp_path / 'afile'
    afile.write_text('')
    status, lines = _error(capsys, 'train.py', SUBNET_CFG, '--work-dir',
                           str(afile))
    assert status == 1 and len(lines) == 1
    assert f"--work-dir {str(afile)!r} cannot be a directory: it is an " \
        'existing file' in lines[0]


def test_syntax_error_names_the_base_file_and_line(tmp_path, capsys):
    base = tmp_path / 'base.py'
    base.write_text('a = 1\nb = [1, 2\nc = 3\n')
    child = tmp_path / 'child.py'
    child.write_text("_base_ = ['./base.py']\nd = 4\n")
    status, lines = _error(capsys, 'train.py', str(child), '--work-dir',
                           str(tmp_path / 'w'))
    assert status == 1 and len(lines) == 1
    assert lines[0].startswith(f'error: syntax error in config {base}:2: ')


def test_negative_loss_weight_warns_at_build():
    from densenas_mm.models.estimators.latency_loss import CostWeightWarning
    from densenas_mm.registry import MODELS
    with pytest.warns(CostWeightWarning, match='rewards latency'):
        loss = MODELS.build(
            dict(type='densenas_mm.LatencyLoss', loss_weight=-0.15, tau=15))
    # still legal: the value is used as given
    assert float(loss(torch.tensor(15.0))) == pytest.approx(-0.15)


@pytest.mark.parametrize('weight', [float('nan'), float('inf'), '0.1', True])
def test_latency_loss_refuses_non_finite_or_non_numeric_weights(weight):
    from densenas_mm.registry import MODELS
    from densenas_mm.utils.options import ConfigError
    with pytest.raises(ConfigError, match='model.cost_loss.loss_weight'):
        MODELS.build(dict(type='densenas_mm.LatencyLoss', loss_weight=weight))


def test_options_merge_into_an_existing_list():
    """A valid index into an existing list still merges (what works today
    keeps working)."""
    from densenas_mm.apis.config_checks import merge_cfg_options
    from densenas_mm.utils.config_file import load_config
    cfg = load_config(SEARCH_CFG)
    merge_cfg_options(cfg, {'custom_hooks.0.priority': 'LOW',
                            'train_cfg.max_epochs': 3})
    assert cfg.custom_hooks[0].priority == 'LOW'
    assert cfg.train_cfg.max_epochs == 3


# -------------------------------------------------------- checkpoints
@pytest.fixture(scope='module')
def nan_checkpoint(tmp_path_factory):
    """A checkpoint of the subnet config's model with NaN / inf weights in
    two tensors."""
    folder = tmp_path_factory.mktemp('nan')
    torch.manual_seed(0)
    state = build_classifier(SUBNET_CFG).state_dict()
    conv = next(k for k, v in state.items()
                if k.endswith('weight') and v.dim() == 4)
    state[conv].view(-1)[:3] = float('nan')
    state['head.fc.bias'][0] = float('inf')
    path = str(folder / 'epoch_3.pth')
    torch.save(dict(state_dict=state, meta=dict(epoch=3)), path)
    return path, conv


def test_test_tool_refuses_nan_weights(nan_checkpoint, tmp_path, capsys):
    path, conv = nan_checkpoint
    status, lines = _error(capsys, 'test.py', SUBNET_CFG, path, '--work-dir',
                           str(tmp_path))
    assert status == 1 and len(lines) == 1, lines
    assert (f"checkpoint {path!r} holds NaN / inf weights in 2 tensor(s): "
            f'{conv} (3 of ') in lines[0]
    assert 'head.fc.bias (1 of 10)' in lines[0]
    assert 'Evaluate an earlier checkpoint' in lines[0]


def test_bare_malicious_pickle_is_refused_as_code(tmp_path, capsys):
    """A pickle stream (not a torch zip) calling a function: the message
    says it would run code, not "truncated or corrupt"."""
    from helpers.checkpoints import CreatesFile
    marker = tmp_path / 'pwned'
    path = tmp_path / 'evil.pth'
    path.write_bytes(pickle.dumps(CreatesFile(str(marker)), protocol=4))
    status, lines = _error(capsys, 'test.py', SUBNET_CFG, str(path))
    assert status == 1 and len(lines) == 1, lines
    assert ('it is not a checkpoint but a bare pickle that would import '
            'and call io.open when read') in lines[0]
    assert 'truncated or corrupt' not in lines[0]
    assert not marker.exists()


def test_bare_pickle_of_plain_data_is_not_a_checkpoint(tmp_path):
    from densenas_mm.utils.checkpoint import CheckpointError, read_checkpoint
    path = tmp_path / 'data.pkl'
    path.write_bytes(pickle.dumps({'a': [1, 2]}, protocol=4))
    with pytest.raises(CheckpointError, match='is a bare pickle stream, not '
                       'a checkpoint'):
        read_checkpoint(str(path))


@pytest.mark.parametrize('protocol', range(pickle.HIGHEST_PROTOCOL + 1))
def test_pickle_imports_reads_every_protocol(tmp_path, protocol):
    """The globals a pickle would call are found without unpickling it
    (memoised strings and repeated objects included); a torch zip is no
    bare pickle."""
    from helpers.checkpoints import CreatesFile
    from densenas_mm.utils.checkpoint import pickle_imports
    path = tmp_path / 'p.pkl'
    payload = [CreatesFile('/a'), CreatesFile('/b'), {'io': 'open'}, print]
    path.write_bytes(pickle.dumps(payload, protocol=protocol))
    found = pickle_imports(str(path))
    # protocols < 3 spell builtins as Python 2 did (__builtin__.print)
    assert len(found) == 2 and found[0] == 'io.open'
    assert found[1] in ('builtins.print', '__builtin__.print')
    torch.save({'w': torch.zeros(2)}, str(tmp_path / 'w.pth'))
    assert pickle_imports(str(tmp_path / 'w.pth')) is None
