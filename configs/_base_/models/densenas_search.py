# The DenseNAS search model, a skeleton every search config fills in:
# the search space (from its search_spaces base), the classifier's classes
# and input width (the space's last_dim), the cost estimator and loss.
#
#   model = dict(
#       architecture=dict(
#           backbone=dict(search_space={{_base_.search_space}}),
#           head=dict(num_classes=100, in_channels=1984),
#           data_preprocessor={{_base_.data_preprocessor}}),
#       estimator=dict(lut='...', metric='latency'),
#       cost_loss=dict(loss_weight=0.15, tau=15))
model = dict(
    type='densenas_mm.DenseNAS',
    architecture=dict(
        # an mmcls model wherever it is built, e.g. by mmrazor's
        # sub_model(cfg.model.architecture, fix_subnet=...) in mmrazor's scope
        _scope_='mmcls',
        type='ImageClassifier',
        backbone=dict(
            type='densenas_mm.DenseNASSupernet',
            # + search_space (a dict, from the config's search_spaces base)
            # T of softmax(beta / T): 1.0 MBV2, 0.9 ResNet (reference)
            route_temperature=1.0),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(
            type='LinearClsHead',
            # + num_classes, in_channels (= the space's last_dim)
            # no label smoothing during the search (reference)
            loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
            topk=(1, 5))),
    mutator=dict(type='densenas_mm.DenseRoutingMutator'),
    estimator=dict(type='densenas_mm.ChainedLatencyEstimator'),
    cost_loss=dict(type='densenas_mm.LatencyLoss'),
    sample_seed=0)

# One train step for both phases; DDP averages weight and alpha/beta grads.
model_wrapper_cfg = dict(type='densenas_mm.DenseNASDDP')
