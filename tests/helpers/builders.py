"""Builders shared by the model tests (imported, not a conftest)."""
from mmengine.registry import DefaultScope

import densenas_mm  # noqa: F401
from densenas_mm.registry import MODELS

#: A small MBV2-type space with several blocks per stage (many paths; three
#: blocks in the last stage, so the terminal has three incoming edges).
WIDER = dict(
    name='wider',
    widths=[8, 12, 16, 16, 24, 24, 32],
    resolutions=[16, 8, 8, 8, 4, 4, 4],
    stages=[1, 2, 2, 2, 3, 3, 3],
    num_layers=[1, 1, 0, 1, 1, 0, 1],
    head_ops=['mbconv_k3_t3', 'mbconv_k5_t3'],
    stack_ops=['mbconv_k3_t3', 'skip_connect'],
    connections=3,
    input_size=32,
    stem_channels=8,
    stem_ops=['mbconv_k3_t1'],
    last_dim=32,
    num_classes=10)


def build_classifier(space, **backbone_kwargs):
    """An mmcls ImageClassifier around a DenseNAS supernet, via registries
    (``backbone_kwargs`` go to ``DenseNASSupernet``)."""
    if DefaultScope.get_current_instance() is None:
        DefaultScope.get_instance('densenas_mm_tests', scope_name='mmcls')
    return MODELS.build(
        dict(
            type='mmcls.ImageClassifier',
            backbone=dict(
                type='densenas_mm.DenseNASSupernet',
                search_space=space.to_dict(),
                **backbone_kwargs),
            neck=dict(type='mmcls.GlobalAveragePooling'),
            head=dict(
                type='mmcls.LinearClsHead',
                num_classes=space.num_classes,
                in_channels=space.last_dim)))


def build_pair(space, backbone_kwargs=None, **mutator_kwargs):
    """Classifier + prepared mutator."""
    model = build_classifier(space, **(backbone_kwargs or {}))
    mutator = MODELS.build(
        dict(type='densenas_mm.DenseRoutingMutator', **mutator_kwargs))
    mutator.prepare_from_supernet(model)
    return model, mutator
