"""Catalogue of bad checkpoint files: reading runs no code, damage is named.

Malicious files (``helpers.checkpoints``) carry a pickle that would create a
marker file when unpickled by ``torch.load(weights_only=False)`` (what
mmengine's own loader does); every reader must refuse them and leave no
marker.
"""
import collections
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import ConfigDict
from mmengine.logging import HistoryBuffer

from densenas_mm.utils.checkpoint import (CheckpointError, intact_checkpoints,
                                          load_state_dict, read_checkpoint,
                                          state_of,
                                          use_safe_checkpoint_loader)
from densenas_mm.utils.state_fit import check_state_fits, state_mismatch
from densenas_mm.utils.resume import resolve_resume
from helpers.checkpoints import malicious_checkpoint


class _ReachesHistoryBufferInternals:
    """``getattr(HistoryBuffer, '__init__')``: a getattr the allow-list's
    restricted getattr must refuse."""

    def __reduce__(self):
        return (getattr, (HistoryBuffer, '__init__'))


def mmengine_like(path: str) -> str:
    """What an mmengine checkpoint holds besides tensors."""
    buf = HistoryBuffer()
    for v in (1.0, 2.0, 4.0):
        buf.update(v)
    hub = dict(
        log_scalars=collections.OrderedDict({'train/loss': buf}),
        runtime_info=collections.OrderedDict(
            eta=np.float64(12.5), iter=np.int64(4), flag=np.bool_(True),
            keep_ckpt_ids=[1, 2], last_ckpt='x/epoch_2.pth',
            arr=np.arange(3, dtype=np.int32), kind=np.dtype('float32'),
            cfg=ConfigDict(a=1, b=dict(c=[1, 2]))),
        resumed_keys=collections.OrderedDict(eta=True))
    torch.save(
        dict(
            meta=dict(epoch=2, iter=8, cfg='model = dict()', seed=0,
                      dataset_meta=dict(classes=('0', '1'))),
            state_dict=collections.OrderedDict(
                w=torch.ones(3), b=torch.zeros(1)),
            message_hub=hub,
            optimizer=dict(
                state={0: dict(momentum_buffer=torch.ones(3))},
                param_groups=[dict(lr=0.1, betas=(0.9, 0.999), params=[0])])),
        path)
    return path


# ------------------------------------------------------------- no code runs
@pytest.mark.parametrize('where', ['meta', 'state_dict'])
def test_malicious_checkpoint_creates_no_file(tmp_path, where):
    path, marker = malicious_checkpoint(tmp_path, where=where)
    with pytest.raises(CheckpointError) as err:
        read_checkpoint(path)
    assert not osp.exists(marker)
    message = str(err.value)
    assert 'refusing to load checkpoint' in message
    assert 'GLOBAL io.open' in message and 'could run code' in message
    with pytest.raises(CheckpointError):
        load_state_dict(path)
    assert not osp.exists(marker)
    # the proof that the file is really malicious: the unsafe load runs it
    torch.load(path, weights_only=False)
    assert osp.exists(marker)


def test_getattr_is_restricted_to_history_buffer_statistics(tmp_path):
    path = str(tmp_path / 'getattr.pth')
    torch.save(dict(meta=dict(x=_ReachesHistoryBufferInternals())), path)
    with pytest.raises(CheckpointError, match="refused getattr"):
        read_checkpoint(path)


def test_mmengine_loader_is_the_safe_one(tmp_path):
    """load_checkpoint / Runner.load_checkpoint go through mmengine's
    CheckpointLoader, which reads local files with read_checkpoint."""
    from mmengine.runner import load_checkpoint
    from mmengine.runner.checkpoint import _load_checkpoint
    use_safe_checkpoint_loader()
    use_safe_checkpoint_loader()  # idempotent
    path, marker = malicious_checkpoint(tmp_path)
    with pytest.raises(CheckpointError, match='refusing to load'):
        _load_checkpoint(path, map_location='cpu')
    with pytest.raises(CheckpointError, match='refusing to load'):
        load_checkpoint(torch.nn.Linear(2, 1), path)
    assert not osp.exists(marker)


def test_config_string_that_resume_would_execute_is_dropped(tmp_path):
    """Runner.resume runs meta['config'] as a Python config file."""
    path = str(tmp_path / 'cfg.pth')
    marker = str(tmp_path / 'pwned')
    torch.save(dict(meta=dict(epoch=1, config=f'open({marker!r}, "w")'),
                    state_dict=dict(w=torch.zeros(1))), path)
    ckpt = read_checkpoint(path)
    assert 'config' not in ckpt['meta'] and ckpt['meta']['epoch'] == 1


def test_mmengine_checkpoint_types_are_allowed(tmp_path):
    ckpt = read_checkpoint(mmengine_like(str(tmp_path / 'epoch_2.pth')))
    hub = ckpt['message_hub']
    buf = hub['log_scalars']['train/loss']
    assert isinstance(buf, HistoryBuffer)
    assert buf.mean() == pytest.approx(7.0 / 3) and buf.current() == 4.0
    info = hub['runtime_info']
    assert info['eta'] == 12.5 and isinstance(info['eta'], np.float64)
    assert int(info['iter']) == 4 and bool(info['flag']) is True
    assert info['arr'].tolist() == [0, 1, 2] and info['kind'] == np.float32
    # ConfigDict comes back as a plain dict
    assert info['cfg'] == {'a': 1, 'b': {'c': [1, 2]}}
    assert ckpt['optimizer']['param_groups'][0]['betas'] == (0.9, 0.999)
    assert torch.equal(ckpt['state_dict']['w'], torch.ones(3))


# ------------------------------------------------------------ damaged files
def _intact_neighbour(folder) -> str:
    return mmengine_like(osp.join(str(folder), 'epoch_1.pth'))


def test_empty_checkpoint_names_the_intact_one(tmp_path):
    good = _intact_neighbour(tmp_path)
    empty = tmp_path / 'epoch_2.pth'
    empty.write_bytes(b'')
    with pytest.raises(CheckpointError) as err:
        read_checkpoint(str(empty))
    message = str(err.value)
    assert 'is empty (0 bytes)' in message and str(empty) in message
    assert f'newest intact checkpoint beside it is {good}' in message


def test_truncated_checkpoint_names_the_intact_one(tmp_path):
    good = _intact_neighbour(tmp_path)
    full = mmengine_like(str(tmp_path / 'epoch_3.pth'))
    data = open(full, 'rb').read()
    with open(full, 'wb') as f:
        f.write(data[:len(data) // 2])
    with pytest.raises(CheckpointError) as err:
        read_checkpoint(full)
    message = str(err.value)
    assert 'truncated or corrupt' in message and full in message
    assert f'--resume {good}' in message
    assert intact_checkpoints(str(tmp_path)) == [good]


@pytest.mark.parametrize('content, fragment', [
    (None, 'does not exist'),
    ('dir', 'as a file (it is a directory)'),
    (b'not a zip, not a pickle', 'truncated or corrupt'),
])
def test_unreadable_files(tmp_path, content, fragment):
    path = tmp_path / 'epoch_5.pth'
    if content == 'dir':
        path.mkdir()
    elif content is not None:
        path.write_bytes(content)
    with pytest.raises(CheckpointError, match=fragment.replace('(', r'\(')
                       .replace(')', r'\)')):
        read_checkpoint(str(path))


@pytest.mark.parametrize('ckpt, fragment', [
    ([torch.zeros(1)], 'holds no state_dict (got list)'),
    (dict(state_dict=dict(w=1.0)), "entries ['w'] are not tensors"),
    (dict(state_dict={}), 'holds no model tensors'),
    (dict(meta=dict(epoch=1)), "holds no model tensors: it has no "
     "state_dict (top-level keys: ['meta'])"),
])
def test_files_without_model_tensors(tmp_path, ckpt, fragment):
    path = str(tmp_path / 'x.pth')
    torch.save(ckpt, path)
    with pytest.raises(CheckpointError, match=fragment.replace('(', r'\(')
                       .replace(')', r'\)').replace('[', r'\[')):
        load_state_dict(path)


def test_module_prefix_of_ddp_saves_is_removed(tmp_path):
    path = str(tmp_path / 'ddp.pth')
    torch.save(dict(state_dict={'module.w': torch.ones(1)}), path)
    assert list(load_state_dict(path)) == ['w']


# ------------------------------------------------------------ last_checkpoint
def test_resolve_resume(tmp_path):
    work = str(tmp_path)
    assert resolve_resume(work) is None  # nothing to resume: fresh start
    good = _intact_neighbour(tmp_path)
    pointer = tmp_path / 'last_checkpoint'
    pointer.write_text(good)
    assert resolve_resume(work) == good
    pointer.write_text('')
    with pytest.raises(CheckpointError) as err:
        resolve_resume(work)
    assert f'{pointer} is empty' in str(err.value)
    assert f'--resume {good}' in str(err.value)
    pointer.write_text(str(tmp_path / 'epoch_9.pth'))
    with pytest.raises(CheckpointError, match='epoch_9.pth.*does not exist'):
        resolve_resume(work)
    broken = tmp_path / 'epoch_4.pth'
    broken.write_bytes(open(good, 'rb').read()[:100])
    pointer.write_text(str(broken))
    with pytest.raises(CheckpointError,
                       match=f'truncated or corrupt.*--resume {good}'):
        resolve_resume(work)


# ---------------------------------------------------------------- strictness
def test_state_mismatch_lists_every_kind():
    model = dict(a=torch.zeros(2, 3), b=torch.zeros(4), c=torch.zeros(1))
    state = dict(a=torch.zeros(3, 2), b=torch.zeros(4), d=torch.zeros(1))
    diff = state_mismatch(model, state)
    assert diff.missing == ['c'] and diff.unexpected == ['d']
    assert diff.shapes == [('a', (3, 2), (2, 3))]
    with pytest.raises(CheckpointError) as err:
        check_state_fits(model, state, 'x.pth')
    message = str(err.value)
    assert "checkpoint 'x.pth' does not fit the model of this config" in \
        message
    assert '1 missing key(s): c' in message
    assert '1 unexpected key(s): d' in message
    assert 'a (3, 2) in the checkpoint vs (2, 3) in the model' in message
    assert not state_mismatch(model, dict(model))
    with pytest.raises(CheckpointError, match='holds no model tensors'):
        check_state_fits(model, {}, 'x.pth')


def test_state_of_a_checkpoint_that_is_not_one():
    with pytest.raises(CheckpointError, match='holds no state_dict'):
        state_of('text', 'x.pth')
