# The DenseNAS search recipe of the reference (method doc 3): weights SGD
# lr 0.2, momentum 0.9, wd 4e-5, cosine per iteration to 1e-5; alpha/beta
# Adam lr 3e-4, betas (0.5, 0.999), wd 1e-3, constant; per epoch an
# architecture pass over search-val, then the weight pass over search-train.
#
# A search config sets its schedule's length in three places (lists are
# replaced, not merged, by mmengine):
#   train_cfg = dict(arch_dataloader=..., max_epochs=E, val_begin=V)
#   (V: first validated epoch, > W; the reference validates the supernet
#   on search-val from epoch 121 of 150 MBV2, 51 of 70 ResNet, and keeps
#   the top-2 by that accuracy: DenseNASArchHook(topk=2); val_dataloader =
#   the dataset base's supernet_val_dataloader)
#   param_scheduler = dict(architecture=[dict(
#       type='CosineAnnealingLR', T_max=E, eta_min=1e-5, by_epoch=True,
#       convert_to_iter_based=True)], mutator=[])
#   custom_hooks = [dict(type='densenas_mm.DenseNASWarmupHook',
#                        warmup_epochs=W), dict(type='densenas_mm.DenseNASArchHook')]
#
# It builds on the common runtime (and changes its logging and checkpoint
# settings), so search configs list it instead of default_runtime.py.
_base_ = ['../default_runtime.py']

train_cfg = dict(
    type='densenas_mm.DenseNASSearchLoop',
    val_interval=1,
    mode='epochwise')
val_cfg = dict()
test_cfg = dict()

optim_wrapper = dict(
    constructor='mmrazor.SeparateOptimWrapperConstructor',
    architecture=dict(
        optimizer=dict(
            type='SGD', lr=0.2, momentum=0.9, weight_decay=4e-5,
            nesterov=False)),
    mutator=dict(
        optimizer=dict(
            type='Adam', lr=3e-4, betas=(0.5, 0.999), weight_decay=1e-3)))

# The timer's ETA covers the architecture passes and the validations; the
# search logger logs the architecture steps (progress, ETA, their own step)
# and one row per epoch, in the log and in vis_data/search_scalars.json.
default_hooks = dict(
    timer=dict(type='densenas_mm.DenseNASTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    search_logger=dict(type='densenas_mm.DenseNASLoggerHook', interval=50),
    checkpoint=dict(
        type='densenas_mm.DenseNASCheckpointHook',
        interval=1,
        max_keep_ckpts=3),
    # every 50 weight / architecture steps: all ranks hold the same
    # alpha/beta and ran the same ops (one all-reduce; a no-op on 1 process)
    rank_check=dict(type='densenas_mm.DenseNASRankCheckHook', interval=50))

# alpha/beta: constant learning rate (the weights' cosine is per config)
param_scheduler = dict(mutator=[])
