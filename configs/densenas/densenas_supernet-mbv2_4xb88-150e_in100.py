# DenseNAS search of the MobileNetV2-based space (method doc 1.1) on
# ImageNet-100, the paper's setting: 150 epochs, the first 50 weight-only
# warm-up, then per epoch an architecture pass over search-val and a weight
# pass over search-train; batch 352 = 4 GPUs x 88; cost = latency from the
# paper's TITAN-Xp table (batch 32), lambda 0.15, tau 15 ms.
#
# The latency table (one-off; the reference list ships with the paper code):
#   python tools/analysis/import_reference_lut.py \
#       /path/to/lat_list_densenas_mbv2_xp32
#   # -> work_dirs/latency/densenas_mbv2_224_ref_b32.json (= lut_file)
# or measure your own device (then drop target_device=None below):
#   python tools/build_latency_lut.py \
#       configs/_base_/search_spaces/densenas_mbv2_224.py --device cuda \
#       --batch-size 32 --out work_dirs/latency/densenas_mbv2_224_mygpu.json
# The data lists: tools/dataset/make_imagenet_subset.py (see the dataset
# config). Search:
#   bash tools/dist_train.sh \
#       configs/densenas/densenas_supernet-mbv2_4xb88-150e_in100.py 4
_base_ = [
    '../_base_/search_spaces/densenas_mbv2_224.py',
    '../_base_/datasets/imagenet100_search.py',
    '../_base_/default_runtime.py',
]

lut_file = 'work_dirs/latency/densenas_mbv2_224_ref_b32.json'
warmup_epochs = 50
max_epochs = 150

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
            num_classes=100,
            in_channels=1984,
            # no label smoothing during the search (reference)
            loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
            topk=(1, 5)),
        data_preprocessor={{_base_.data_preprocessor}}),
    mutator=dict(type='densenas_mm.DenseRoutingMutator'),
    estimator=dict(
        type='densenas_mm.ChainedLatencyEstimator',
        lut=lut_file,
        metric='latency',
        batch_size=32,
        # the paper's table is TITAN-Xp on purpose: no device check
        target_device=None),
    cost_loss=dict(type='densenas_mm.LatencyLoss', loss_weight=0.15, tau=15),
    sample_seed=0,
    # True keeps weights and inputs channels-last (faster on recent GPUs,
    # with AMP in particular: set type='AmpOptimWrapper', dtype='bfloat16'
    # on both optim wrappers below). Results are unchanged.
    channels_last=False)

# One train step for both phases; DDP averages weight and alpha/beta grads.
model_wrapper_cfg = dict(type='densenas_mm.DenseNASDDP')

train_dataloader = {{_base_.search_train_dataloader}}
train_cfg = dict(
    type='densenas_mm.DenseNASSearchLoop',
    arch_dataloader={{_base_.search_val_dataloader}},
    max_epochs=max_epochs,
    # supernet accuracy on search-val (selects best.yaml) once searching
    val_begin=warmup_epochs + 1,
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

# Weights: cosine per iteration to 1e-5 over all 150 epochs; arch: constant.
param_scheduler = dict(
    architecture=[
        dict(
            type='CosineAnnealingLR',
            T_max=max_epochs,
            eta_min=1e-5,
            by_epoch=True,
            convert_to_iter_based=True)
    ],
    mutator=[])

custom_hooks = [
    dict(type='densenas_mm.DenseNASWarmupHook', warmup_epochs=warmup_epochs),
    dict(type='densenas_mm.DenseNASArchHook'),
]
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3))

env_cfg = dict(dist_cfg=dict(backend='nccl'))
randomness = dict(seed=0, deterministic=False)
auto_scale_lr = dict(base_batch_size=352)
