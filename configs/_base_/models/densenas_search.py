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
#
# It follows the reference code where it differs from PyTorch >= 2 or the
# paper's text (docs/deviations.md): gradients zeroed in place
# (grad_zeroing), the terminal node's softmax over its incoming route
# probabilities (terminal_weights) and PyTorch's default classifier init
# with zero bias (linear_init.py).
_base_ = ['./linear_init.py']

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
            route_temperature=1.0,
            # 'softmax': the terminal re-normalises its incoming p_iT (the
            # reference code); 'route': weighs them by p_iT (paper's text)
            terminal_weights='softmax'),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(
            type='LinearClsHead',
            # + num_classes, in_channels (= the space's last_dim)
            # no label smoothing during the search (reference)
            loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
            topk=(1, 5),
            init_cfg={{_base_.torch_default_fc_init}})),
    mutator=dict(type='densenas_mm.DenseRoutingMutator'),
    estimator=dict(type='densenas_mm.ChainedLatencyEstimator'),
    cost_loss=dict(type='densenas_mm.LatencyLoss'),
    sample_seed=0,
    # 'in_place': an op sampled once keeps a zero gradient, so later SGD
    # steps still apply momentum and weight decay to it (the reference on
    # PyTorch 1.0-1.2); 'set_to_none': unsampled ops stay put (PyTorch 2)
    grad_zeroing='in_place')

# One train step for both phases: weight steps through DDP (weight gradients
# averaged), architecture steps beside it with one all-reduce of the
# alpha/beta gradients. No BatchNorm buffer broadcast: a search never reads
# the supernet's running statistics (validation uses batch statistics).
model_wrapper_cfg = dict(
    type='densenas_mm.DenseNASDDP', broadcast_buffers=False)
