"""Catalogue of bad input to the command lines: each ends with a clear error
(exit status 1, one ``error:`` line naming the file and a fix), or runs
correctly; a malicious checkpoint creates no file in any tool.

The tools run in-process (``main`` wrapped in ``run_cli``, exactly what
``python tools/X.py`` does) on the digits subnet config and the demo data.
"""
import os.path as osp

import pytest
import torch

import densenas_mm  # noqa: F401
from densenas_mm.apis.cli import run_cli
from densenas_mm.apis.model_io import build_classifier
from densenas_mm.search_space import load_preset
from densenas_mm.utils.checkpoint import CheckpointError
from helpers import REPO_ROOT
from helpers.builders import build_classifier as build_supernet_classifier
from helpers.checkpoints import malicious_checkpoint
from helpers.timings import ms_rounds
from helpers.tools import load_tool

SUBNET_CFG = osp.join(REPO_ROOT, 'configs/densenas/subnets/'
                      'densenas_subnet-demo_1xb32-10e_digits.py')
SEARCH_CFG = osp.join(REPO_ROOT, 'configs/densenas/'
                      'densenas_supernet-demo_1xb32-20e_digits.py')
LOADERS = [
    f'{split}_dataloader.{key}={value}'
    for split in ('train', 'val', 'test')
    for key, value in (('num_workers', 0), ('batch_size', 16),
                       ('dataset.indices', 32))
]


@pytest.fixture(scope='module')
def ckpts(tmp_path_factory):
    """A checkpoint of the subnet config's model, one of the supernet (another
    model and space), one without tensors."""
    folder = tmp_path_factory.mktemp('ckpts')
    torch.manual_seed(0)
    model = build_classifier(SUBNET_CFG)
    good = str(folder / 'epoch_1.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict(epoch=1)), good)
    supernet = build_supernet_classifier(load_preset('densenas_demo_32'))
    foreign = str(folder / 'supernet.pth')
    torch.save(
        dict(state_dict={
            f'architecture.{k}': v
            for k, v in supernet.state_dict().items()
        }), foreign)
    empty = str(folder / 'no_tensors.pth')
    torch.save(dict(meta=dict(epoch=3)), empty)
    return dict(good=good, foreign=foreign, empty=empty, folder=folder)


@pytest.fixture
def data_env(demo_data_root, monkeypatch):
    monkeypatch.setenv('DENSENAS_DEMO_DATA', demo_data_root)


def _status(capsys, tool, *argv):
    """Exit status and the ``error:`` line (mmengine's loggers may write to
    the stderr of an earlier test, so only that line is kept)."""
    status = run_cli(lambda: tool.main(list(argv)))
    lines = [ln for ln in capsys.readouterr().err.splitlines()
             if ln.startswith('error: ')]
    return status, '\n'.join(lines)


# --------------------------------------------------------------- tools/test
def test_test_tool_scores_a_fitting_checkpoint(ckpts, data_env, tmp_path):
    metrics = load_tool('test.py').main([
        SUBNET_CFG, ckpts['good'], '--work-dir',
        str(tmp_path), '--cfg-options', *LOADERS
    ])
    assert 0.0 <= metrics['accuracy/top1'] <= 100.0


@pytest.mark.parametrize('which, fragments', [
    ('foreign', ['does not fit the model of this config', 'missing key(s)',
                 'unexpected key(s): architecture.backbone.']),
    ('empty', ['holds no model tensors']),
])
def test_test_tool_refuses_checkpoints_that_do_not_fit(
        ckpts, data_env, tmp_path, capsys, which, fragments):
    status, err = _status(capsys, load_tool('test.py'), SUBNET_CFG,
                          ckpts[which], '--work-dir', str(tmp_path),
                          '--cfg-options', *LOADERS)
    assert status == 1 and err.startswith('error: ')
    for fragment in fragments:
        assert fragment in err, err


def test_test_tool_out_must_be_a_file(ckpts, data_env, tmp_path, capsys):
    status, err = _status(capsys, load_tool('test.py'), SUBNET_CFG,
                          ckpts['good'], '--out', str(tmp_path))
    assert status == 1 and 'is a directory; pass a file path' in err


@pytest.mark.parametrize('tool, argv', [
    ('test.py', [SUBNET_CFG, '{ckpt}']),
    ('train.py', [SUBNET_CFG, '--resume', '{ckpt}']),
    ('analysis/plot_arch.py', [SEARCH_CFG, '--checkpoint', '{ckpt}',
                               '--out-dir', '{tmp}']),
])
def test_malicious_checkpoint_runs_no_code(data_env, tmp_path, capsys, tool,
                                           argv):
    ckpt, marker = malicious_checkpoint(tmp_path)
    argv = [a.format(ckpt=ckpt, tmp=str(tmp_path)) for a in argv]
    if tool == 'train.py':
        argv += ['--work-dir', str(tmp_path / 'work'), '--cfg-options',
                 *LOADERS]
    status, err = _status(capsys, load_tool(tool), *argv)
    assert status == 1, err
    assert 'refusing to load checkpoint' in err and 'GLOBAL io.open' in err
    assert not osp.exists(marker)


# -------------------------------------------------------------- --resume
def test_resume_from_a_checkpoint_of_another_model(ckpts, data_env, tmp_path,
                                                   capsys):
    status, err = _status(capsys, load_tool('train.py'), SUBNET_CFG,
                          '--resume', ckpts['foreign'], '--work-dir',
                          str(tmp_path), '--cfg-options', *LOADERS)
    assert status == 1
    assert 'does not fit the model of this config' in err
    assert not osp.exists(osp.join(str(tmp_path), 'epoch_1.pth'))


def test_resume_with_an_empty_last_checkpoint(ckpts, tmp_path, capsys):
    work = tmp_path / 'work'
    work.mkdir()
    intact = work / 'epoch_1.pth'
    intact.write_bytes(open(ckpts['good'], 'rb').read())
    (work / 'last_checkpoint').write_text('')
    status, err = _status(capsys, load_tool('train.py'), SUBNET_CFG,
                          '--resume', '--work-dir', str(work))
    assert status == 1
    assert f'{work / "last_checkpoint"} is empty' in err
    assert f'--resume {intact}' in err


def test_resume_from_a_truncated_checkpoint(ckpts, data_env, tmp_path,
                                            capsys):
    work = tmp_path / 'work'
    work.mkdir()
    intact = work / 'epoch_1.pth'
    data = open(ckpts['good'], 'rb').read()
    intact.write_bytes(data)
    (work / 'epoch_2.pth').write_bytes(data[:len(data) // 3])
    (work / 'last_checkpoint').write_text(str(work / 'epoch_2.pth'))
    status, err = _status(capsys, load_tool('train.py'), SUBNET_CFG,
                          '--resume', '--work-dir', str(work))
    assert status == 1
    assert 'epoch_2.pth' in err and 'truncated or corrupt' in err
    assert f'--resume {intact}' in err


# ----------------------------------------------------------- output paths
def test_out_dir_that_is_a_file(tmp_path, capsys):
    train_dir = tmp_path / 'train'
    for cls in ('n01', 'n02'):
        (train_dir / cls).mkdir(parents=True)
        for i in range(2):
            (train_dir / cls / f'{i}.JPEG').write_bytes(b'\xff\xd8\xff')
    taken = tmp_path / 'lists'
    taken.write_text('a file')
    status, err = _status(capsys, load_tool('dataset/make_imagenet_subset.py'),
                          str(train_dir), '--out-dir', str(taken),
                          '--num-classes', '2')
    assert status == 1
    assert f"--out-dir '{taken}' is an existing file" in err


def test_demo_data_out_that_is_a_file(tmp_path, capsys):
    taken = tmp_path / 'data'
    taken.write_text('a file')
    status, err = _status(capsys, load_tool('dataset/make_demo_data.py'),
                          '--out', str(taken), '--no-progress')
    assert status == 1
    assert f"demo data directory '{taken}' is an existing file" in err


def test_plot_out_dir_that_is_a_file(tmp_path, capsys):
    taken = tmp_path / 'plots'
    taken.write_text('a file')
    arch = osp.join(REPO_ROOT, 'configs/densenas/subnets/archs/'
                    'densenas_demo_32_example.yaml')
    status, err = _status(capsys, load_tool('analysis/plot_arch.py'),
                          SEARCH_CFG, '--arch', arch, '--out-dir',
                          str(taken))
    assert status == 1
    assert 'cannot be a directory: it is an existing file' in err


# ------------------------------------------------------------ latency table
def test_corrupt_partial_table_says_how_to_get_past_it(tmp_path, capsys):
    out = tmp_path / 'lut.json'
    partial = tmp_path / 'lut.json.partial'
    partial.write_text('{"schema": "densenas_mm.latency_table", "vers')
    preset = osp.join(REPO_ROOT, 'configs/_base_/search_spaces/'
                      'densenas_demo_32.py')
    status, err = _status(capsys, load_tool('build_latency_lut.py'), preset,
                          '--out', str(out), '--no-progress')
    assert status == 1
    assert f'cannot resume from {partial}' in err
    assert f'Delete {partial}, or pass --no-resume' in err


def test_no_resume_rebuilds_over_a_corrupt_partial(tmp_path):
    from densenas_mm.latency import build_latency_table
    partial = tmp_path / 'lut.json.partial'
    partial.write_text('not json')
    space = load_preset('densenas_demo_32')

    def measure(sigs, device, act, rounds, **timing):
        """1 ms in every round (the builder's measurement interface)."""
        return {s.key: ms_rounds([[1.0] * 3] * rounds) for s in sigs}

    with pytest.raises(Exception, match='--no-resume'):
        build_latency_table(space, out=str(tmp_path / 'lut.json'),
                            progress=False, measure=measure)
    table, report = build_latency_table(
        space, out=str(tmp_path / 'lut.json'), progress=False, resume=False,
        measure=measure)
    assert report.measured == report.needed == len(table) > 0
    assert not partial.exists()


def test_checkpoint_error_is_one_line_without_traceback(tmp_path, capsys):
    def main():
        raise CheckpointError('checkpoint x is empty')

    assert run_cli(main) == 1
    assert capsys.readouterr().err == 'error: checkpoint x is empty\n'
