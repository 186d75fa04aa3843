# The demo's search schedule: configs/_base_/schedules/densenas_search.py
# (the reference recipe) shortened to 20 epochs, 10 of them warm-up, with
# learning rates for the short schedule (weights SGD 0.1, alpha/beta Adam
# 0.1: docs/demo.md says how they were chosen). Supernet validation on
# search-val starts after warm-up and keeps the top-2.
#
# The length is two knobs: warmup_epochs (weights only) and search_epochs
# (architecture updates after warm-up). train_cfg.max_epochs (= W + S),
# train_cfg.val_begin (= W + 1), the weights' cosine (T_max = W + S) and the
# warm-up hook's warmup_epochs follow them when the run is built
# (densenas_mm/apis/derive.py), also when they are set with --cfg-options:
#   python tools/train.py CONFIG --cfg-options search_epochs=2 warmup_epochs=1
# A derived key given in --cfg-options itself keeps the given value.
_base_ = ['./densenas_search.py']

warmup_epochs = 10
search_epochs = 10

train_cfg = dict(
    max_epochs=warmup_epochs + search_epochs, val_begin=warmup_epochs + 1)
optim_wrapper = dict(
    architecture=dict(optimizer=dict(lr=0.1)),
    mutator=dict(optimizer=dict(lr=0.1)))
param_scheduler = dict(architecture=[
    dict(
        type='CosineAnnealingLR',
        T_max=warmup_epochs + search_epochs,
        eta_min=1e-4,
        by_epoch=True,
        convert_to_iter_based=True)
])
custom_hooks = [
    dict(type='densenas_mm.DenseNASWarmupHook', warmup_epochs=warmup_epochs),
    dict(type='densenas_mm.DenseNASArchHook', topk=2),
    dict(type='densenas_mm.DenseNASVisualizationHook', interval=5),
]
default_hooks = dict(
    logger=dict(interval=20),
    search_logger=dict(interval=20),
    checkpoint=dict(max_keep_ckpts=2))
# --auto-scale-lr: the learning rates are for 1 x 32 images; mmengine scales
# both optimisers' (weights and alpha/beta) by actual batch / 32.
auto_scale_lr = dict(base_batch_size=32)
