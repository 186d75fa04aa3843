# DenseNAS search of the MobileNetV2-based space (method doc 1.1) on
# ImageNet-100, the paper's setting: 150 epochs, the first 50 weight-only
# warm-up, then per epoch an architecture pass over search-val and a weight
# pass over search-train; batch 352 = 4 GPUs x 88; cost = latency from the
# paper's TITAN-Xp table (batch 32), lambda 0.15, tau 15 ms. The recipe
# (optimisers, loop, DDP wrapper) is configs/_base_/schedules/densenas_search.py.
#
# The latency table: the paper's, converted and shipped with the project
# (resources/latency/, Apache-2.0, see its README.md). Or measure your own
# device (then pass --cfg-options model.estimator.lut=<it>
# model.estimator.target_device=auto):
#   python tools/build_latency_lut.py \
#       configs/_base_/search_spaces/densenas_mbv2_224.py --device cuda \
#       --batch-size 32
#   # -> work_dirs/latency/densenas_mbv2_224_<GPU name>_b32.json
# The data lists: tools/dataset/make_imagenet_subset.py (see the dataset
# config). Search:
#   bash tools/dist_train.sh \
#       configs/densenas/densenas_supernet-mbv2_4xb88-150e_in100.py 4
_base_ = [
    '../_base_/search_spaces/densenas_mbv2_224.py',
    '../_base_/datasets/imagenet100_search.py',
    '../_base_/models/densenas_search.py',
    '../_base_/schedules/densenas_search.py',
]

lut_file = 'resources/latency/densenas_mbv2_224_ref_b32.json'
warmup_epochs = 50
max_epochs = 150
# The reference validates the supernet on search-val from epoch 120 (0-based,
# i.e. after the 121st) and keeps the top-2 architectures (DenseNASArchHook).
val_begin = 121

model = dict(
    architecture=dict(
        backbone=dict(search_space={{_base_.search_space}}),
        head=dict(num_classes=100, in_channels=1984),
        data_preprocessor={{_base_.data_preprocessor}}),
    estimator=dict(
        lut=lut_file,
        metric='latency',
        batch_size=32,
        # the paper's table is TITAN-Xp on purpose: no device check
        target_device=None),
    cost_loss=dict(loss_weight=0.15, tau=15),
    # True keeps weights and inputs channels-last (faster on recent GPUs,
    # with AMP in particular: set type='AmpOptimWrapper', dtype='bfloat16'
    # on both optim wrappers). Results are unchanged.
    channels_last=False)

train_dataloader = {{_base_.search_train_dataloader}}
train_cfg = dict(
    arch_dataloader={{_base_.search_val_dataloader}},
    max_epochs=max_epochs,
    # supernet accuracy on search-val selects best.yaml / top2.yaml
    val_begin=val_begin)

# Weights: cosine per iteration to 1e-5 over all 150 epochs.
param_scheduler = dict(architecture=[
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs,
        eta_min=1e-5,
        by_epoch=True,
        convert_to_iter_based=True)
])
custom_hooks = [
    dict(type='densenas_mm.DenseNASWarmupHook', warmup_epochs=warmup_epochs),
    dict(type='densenas_mm.DenseNASArchHook', topk=2),
    # pictures every 10 epochs; curves (vis/curves.png, vis/history.json)
    # every epoch
    dict(type='densenas_mm.DenseNASVisualizationHook', interval=10),
]

env_cfg = dict(dist_cfg=dict(backend='nccl'))
# --auto-scale-lr: the recipe's learning rates are for 352 images in total;
# mmengine scales both optimisers' (weights and alpha/beta) by the ratio.
auto_scale_lr = dict(base_batch_size=352)
