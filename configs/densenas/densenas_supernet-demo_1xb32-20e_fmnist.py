# DenseNAS search on the Fashion-MNIST demo data (configs/_base_/datasets/
# fashion_mnist.py: 2,000 search-train / 500 search-val training images,
# padded to 32x32), in the small MobileNetV2-type demo space, with a CPU
# latency table. The recipe is configs/_base_/schedules/densenas_search.py
# with learning rates for the short schedule (docs/demo.md says how they
# were chosen). tools/demo.sh runs it with the table it builds:
#
#   python tools/build_latency_lut.py \
#       configs/_base_/search_spaces/densenas_demo_32.py --device cpu \
#       --batch-size 32 --threads 1
#   # -> work_dirs/latency/densenas_demo_32_cpu_b32_t1.json (= lut_file, the
#   #    builder's naming rule)
#   python tools/train.py \
#       configs/densenas/densenas_supernet-demo_1xb32-20e_fmnist.py
_base_ = [
    '../_base_/search_spaces/densenas_demo_32.py',
    '../_base_/datasets/fashion_mnist.py',
    '../_base_/models/densenas_search.py',
    '../_base_/schedules/densenas_search.py',
]

lut_file = 'work_dirs/latency/densenas_demo_32_cpu_b32_t1.json'
warmup_epochs = 10
max_epochs = 20

model = dict(
    architecture=dict(
        backbone=dict(search_space={{_base_.search_space}}),
        head=dict(num_classes=10, in_channels=128),
        data_preprocessor={{_base_.data_preprocessor}}),
    estimator=dict(lut=lut_file, metric='latency'),
    cost_loss=dict(loss_weight=0.15, tau=15))

# The weight pass reads search-train (random crops and flips), the
# architecture pass search-val (test transform). Supernet validation reads
# search-val too, so best.yaml is selected without the test images; it
# starts after warm-up.
train_dataloader = {{_base_.search_train_dataloader}}
val_dataloader = {{_base_.supernet_val_dataloader}}
train_cfg = dict(
    arch_dataloader={{_base_.search_val_dataloader}},
    max_epochs=max_epochs,
    val_begin=warmup_epochs + 1)

optim_wrapper = dict(
    architecture=dict(optimizer=dict(lr=0.1)),
    mutator=dict(optimizer=dict(lr=0.1)))
param_scheduler = dict(architecture=[
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs,
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
auto_scale_lr = dict(base_batch_size=32)
