"""Catalogue of bad converter inputs: a checkpoint of another space, an
architecture that does not fit, a file without model tensors, a malicious
file. The architecture files here record their space (format 2), so the
search checkpoint must be that space's supernet key for key."""
import os.path as osp

import pytest
import torch

import densenas_mm  # noqa: F401
from densenas_mm.apis.conversion import ConversionError, convert_checkpoint
from densenas_mm.search_space import SearchSpace, SpaceGraph, load_preset
from densenas_mm.structures import ARCH_KEY, DerivedArch, derive_arch
from densenas_mm.utils.checkpoint import CheckpointError
from helpers.builders import build_classifier
from helpers.checkpoints import malicious_checkpoint
from helpers.tools import load_tool

PATH = [0, 1, 2, 4, 6, 7]
# the demo space with one width changed: same keys, other shapes
VARIANT = dict(widths=[12, 16, 24, 32, 48, 64])


def variant_space():
    spec = load_preset('densenas_demo_32', **VARIANT).to_dict()
    spec['name'] = 'demo_variant'
    return SearchSpace.from_config(spec)


def save_search(path, space):
    torch.manual_seed(0)
    model = build_classifier(space)
    state = {f'architecture.{k}': v for k, v in model.state_dict().items()}
    torch.save(dict(state_dict=state, meta=dict(epoch=3)), path)
    return path


@pytest.fixture(scope='module')
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp('conversion')
    space = load_preset('densenas_demo_32')
    arch = derive_arch(space, SpaceGraph(space), {}, path=PATH)
    arch_file = str(folder / 'arch.yaml')
    arch.dump(arch_file)
    return dict(
        folder=folder,
        arch=arch,
        arch_file=arch_file,
        ckpt=save_search(str(folder / 'epoch_3.pth'), space),
        other=save_search(str(folder / 'other.pth'), variant_space()))


def test_the_good_pair_converts(files, tmp_path):
    report = convert_checkpoint(files['ckpt'], files['arch_file'],
                                str(tmp_path / 'sub.pth'))
    assert len(report.inherited) > 0


def test_checkpoint_of_another_space(files, tmp_path):
    with pytest.raises(ConversionError) as err:
        convert_checkpoint(files['other'], files['arch_file'],
                           str(tmp_path / 'x.pth'))
    message = str(err.value)
    assert "does not fit the supernet of search space 'densenas_demo_32'" \
        in message
    assert 'shape mismatch(es)' in message and 'in the checkpoint vs' in \
        message
    assert not osp.exists(str(tmp_path / 'x.pth'))


def test_checkpoint_missing_tensors(files, tmp_path):
    state = torch.load(files['ckpt'], weights_only=False)['state_dict']
    dropped = sorted(k for k in state if 'b06.heads' in k)
    for key in dropped:
        state.pop(key)
    path = str(tmp_path / 'partial.pth')
    torch.save(dict(state_dict=state), path)
    with pytest.raises(ConversionError,
                       match=f'{len(dropped)} missing key'):
        convert_checkpoint(path, files['arch_file'], str(tmp_path / 'x.pth'))


def test_arch_of_another_space(files, tmp_path):
    """The arch records the variant space: the demo checkpoint is not that
    space's supernet."""
    space = variant_space()
    arch = derive_arch(space, SpaceGraph(space), {}, path=PATH)
    arch_file = str(tmp_path / 'variant.yaml')
    arch.dump(arch_file)
    with pytest.raises(ConversionError,
                       match="supernet of search space 'demo_variant'"):
        convert_checkpoint(files['ckpt'], arch_file, str(tmp_path / 'x.pth'))


def test_arch_that_does_not_fit_its_space(files, tmp_path):
    data = files['arch'].to_dict()
    data[ARCH_KEY]['blocks'][0]['head_op'] = 'mbconv_k5_t6'
    body = {k: v for k, v in data[ARCH_KEY].items()
            if k not in ('format_version', 'net_config')}
    arch = DerivedArch(**body)
    with pytest.raises(ConversionError,
                       match="head op 'mbconv_k5_t6' is not a candidate"):
        convert_checkpoint(files['ckpt'], arch, str(tmp_path / 'x.pth'))


@pytest.mark.parametrize('content, fragment', [
    (dict(meta=dict(epoch=1)), 'holds no model tensors'),
    (dict(state_dict={}), 'holds no model tensors'),
    (dict(state_dict=dict(w=torch.zeros(1))), 'not a DenseNAS search'),
])
def test_files_that_are_no_search_checkpoint(files, tmp_path, content,
                                             fragment):
    path = str(tmp_path / 'c.pth')
    torch.save(content, path)
    with pytest.raises(CheckpointError, match=fragment):
        convert_checkpoint(path, files['arch_file'], str(tmp_path / 'x.pth'))


def test_malicious_checkpoint_runs_nothing_in_the_tool(files, tmp_path,
                                                       capsys):
    path, marker = malicious_checkpoint(tmp_path)
    tool = load_tool('model_converters/supernet_to_subnet.py')
    out = str(tmp_path / 'x.pth')
    assert tool.main([path, files['arch_file'], out]) == 1
    err = capsys.readouterr().err
    assert err.startswith('error: refusing to load checkpoint')
    assert not osp.exists(marker) and not osp.exists(out)
