# Runtime shared by every densenas_mm config.
#
# `custom_imports` makes mmengine import densenas_mm before building
# anything: that applies densenas_mm.compat (needed before mmrazor.models is
# imported on torch >= 2.1) and registers the densenas_mm components.
custom_imports = dict(imports=['densenas_mm'], allow_failed_imports=False)

# Unprefixed types resolve in mmcls first, then in its parents (mmengine);
# use 'densenas_mm.X' / 'mmrazor.X' for components of those scopes.
default_scope = 'mmcls'

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # CheckpointHook that writes atomically (a kill never leaves a partial
    # epoch_N.pth or last_checkpoint) and loads strictly, without running
    # code from the file (see densenas_mm/engine/hooks/checkpoint_hook.py)
    checkpoint=dict(
        type='densenas_mm.DenseNASCheckpointHook',
        interval=1,
        max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='VisualizationHook', enable=False),
)

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # nccl on GPUs. tools/train.py and tools/test.py switch to gloo when
    # CUDA is unavailable (CPU-only distributed runs, e.g. in the tests).
    # timeout: seconds a collective (or gloo's monitored barrier of the
    # rank-check hook) waits for a silent rank before the run stops with a
    # message (torch's default; lower it to notice a frozen rank sooner:
    # --cfg-options env_cfg.dist_cfg.timeout=300).
    dist_cfg=dict(backend='nccl', timeout=1800),
)

vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='ClsVisualizer', vis_backends=vis_backends)

log_processor = dict(by_epoch=True, window_size=10)
log_level = 'INFO'
load_from = None
resume = False
# A fixed seed by default: every run (search, retrain, baseline) is
# reproducible and its seed is stated; change it with --cfg-options
# randomness.seed=N.
randomness = dict(seed=0, deterministic=False)
