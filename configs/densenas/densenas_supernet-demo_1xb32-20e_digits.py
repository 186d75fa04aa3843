# DenseNAS search on the embedded demo data (scikit-learn digits, 32x32):
# the small MobileNetV2-type space of configs/_base_/search_spaces, 12 warm-up
# epochs then 8 search epochs, a CPU latency table. About 3-8 minutes on 2
# CPU cores with OMP_NUM_THREADS=1 (tools/demo.sh; see docs/demo.md).
# Why 12 warm-up epochs: with uniform single-op sampling the supernet needs
# ~400-500 weight steps (batch 32) before its loss falls, against ~60 for a
# fixed set of ops (docs/demo.md, "Tuning the demo search").
#
#   python tools/build_latency_lut.py \
#       configs/_base_/search_spaces/densenas_demo_32.py --device cpu \
#       --batch-size 32 --out work_dirs/latency/densenas_demo_32_cpu.json
#   python tools/train.py configs/densenas/densenas_supernet-demo_1xb32-20e_digits.py
_base_ = [
    '../_base_/search_spaces/densenas_demo_32.py',
    '../_base_/datasets/demo_digits.py',
    '../_base_/default_runtime.py',
]

lut_file = 'work_dirs/latency/densenas_demo_32_cpu.json'
warmup_epochs = 12
max_epochs = 20

model = dict(
    type='densenas_mm.DenseNAS',
    architecture=dict(
        type='ImageClassifier',
        backbone=dict(
            type='densenas_mm.DenseNASSupernet',
            search_space={{_base_.search_space}},
            route_temperature=1.0),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(
            type='LinearClsHead',
            num_classes=10,
            in_channels=128,
            loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
            topk=(1, 5)),
        data_preprocessor={{_base_.data_preprocessor}}),
    mutator=dict(type='densenas_mm.DenseRoutingMutator'),
    estimator=dict(
        type='densenas_mm.ChainedLatencyEstimator',
        lut=lut_file,
        metric='latency'),
    cost_loss=dict(type='densenas_mm.LatencyLoss', loss_weight=0.15, tau=15),
    sample_seed=0)

model_wrapper_cfg = dict(type='densenas_mm.DenseNASDDP')

# The weight pass reads search-train, the architecture pass search-val.
train_dataloader = {{_base_.search_train_dataloader}}
train_cfg = dict(
    type='densenas_mm.DenseNASSearchLoop',
    arch_dataloader={{_base_.search_val_dataloader}},
    max_epochs=max_epochs,
    val_interval=1,
    mode='epochwise')
val_cfg = dict()
test_cfg = dict()

optim_wrapper = dict(
    constructor='mmrazor.SeparateOptimWrapperConstructor',
    architecture=dict(
        optimizer=dict(
            type='SGD', lr=0.1, momentum=0.9, weight_decay=4e-5,
            nesterov=False)),
    mutator=dict(
        optimizer=dict(
            type='Adam', lr=1e-2, betas=(0.5, 0.999), weight_decay=1e-3)))

param_scheduler = dict(
    architecture=[
        dict(
            type='CosineAnnealingLR',
            T_max=max_epochs,
            eta_min=1e-4,
            by_epoch=True,
            convert_to_iter_based=True)
    ],
    mutator=[])

custom_hooks = [
    dict(type='densenas_mm.DenseNASWarmupHook', warmup_epochs=warmup_epochs),
    dict(type='densenas_mm.DenseNASArchHook'),
    dict(type='densenas_mm.DenseNASVisualizationHook', interval=5),
]
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2))
randomness = dict(seed=0, deterministic=False)
