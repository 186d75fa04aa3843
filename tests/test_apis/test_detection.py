"""A derived net as an mmdet backbone: DenseNASNet(out_type='stages') built
through the registry gives the channels and strides an FPN needs, and the
snippet tool writes them from the architecture."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from densenas_mm.apis.detection import (detection_snippet, fpn_strides,
                                        stage_layout)
from densenas_mm.registry import MODELS
from densenas_mm.structures import DENSENAS_C

from helpers import REPO_ROOT
from helpers.tools import load_tool

DEMO_ARCH = osp.join(REPO_ROOT, 'configs', 'densenas', 'subnets', 'archs',
                     'densenas_demo_32_example.yaml')


@pytest.mark.parametrize('arch, size, channels, strides', [
    (DENSENAS_C, 224, [24, 48, 128, 384], [4, 8, 16, 32]),
    (DEMO_ARCH, 32, [12, 16, 64], [2, 4, 8]),
])
def test_stage_outputs_are_what_the_fpn_is_told(arch, size, channels,
                                                strides):
    layout = stage_layout(arch)
    assert (layout['in_channels'], layout['strides']) == (channels, strides)
    # the real features of the backbone the snippet configures
    net = MODELS.build(layout['backbone']).eval()
    with torch.no_grad():
        feats = net(torch.zeros(1, 3, size, size))
    assert [f.shape[1] for f in feats] == channels
    assert [size // f.shape[-1] for f in feats] == strides
    assert layout['feature_sizes'] == [f.shape[-1] for f in feats]


def test_detection_size_and_selected_stages():
    layout = stage_layout(DENSENAS_C, out_indices=(1, 2, 3), input_size=800)
    assert layout['in_channels'] == [48, 128, 384]
    assert layout['strides'] == [8, 16, 32]
    assert layout['feature_sizes'] == [100, 50, 25]
    net = MODELS.build(layout['backbone']).eval()
    with torch.no_grad():
        feats = net(torch.zeros(1, 3, 320, 320))
    assert [tuple(f.shape[1:]) for f in feats] == [(48, 40, 40),
                                                   (128, 20, 20),
                                                   (384, 10, 10)]
    assert fpn_strides([8, 16, 32], 5) == [8, 16, 32, 64, 128]


def test_snippet_tool_writes_the_layout(capsys):
    result = load_tool('analysis/detection_snippet.py').main(
        [DEMO_ARCH, '--out-indices', '1', '2'])
    text = capsys.readouterr().out
    assert result['in_channels'] == [16, 64]
    assert result['fpn_strides'] == [4, 8, 16]
    assert 'in_channels=[16, 64],' in text
    assert 'out_indices=(1, 2),' in text
    assert 'anchor_generator=dict(strides=[4, 8, 16], ...)' in text
    # the snippet is a valid mmengine config
    cfg = Config.fromstring(text, file_format='.py')
    assert cfg.model.neck.in_channels == [16, 64]
    assert cfg.model.backbone.arch == DEMO_ARCH
    assert detection_snippet(DEMO_ARCH).result['num_outs'] == 4
