"""Builders shared by the model tests (imported, not a conftest)."""
from mmengine.registry import DefaultScope

import densenas_mm  # noqa: F401
from densenas_mm.registry import MODELS


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
