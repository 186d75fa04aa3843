# DenseNAS search on the Fashion-MNIST demo data (configs/_base_/datasets/
# fashion_mnist.py: 2,000 search-train / 500 search-val training images,
# padded to 32x32), in the small MobileNetV2-type demo space, with a CPU
# latency table: the model of configs/_base_/models/densenas_demo_search.py,
# the schedule of configs/_base_/schedules/densenas_demo_search.py (10
# warm-up + 10 search epochs). tools/demo.sh runs it with the table it
# builds:
#
#   python tools/build_latency_lut.py \
#       configs/_base_/search_spaces/densenas_demo_32.py --device cpu \
#       --batch-size 32 --threads 1
#   python tools/train.py \
#       configs/densenas/densenas_supernet-demo_1xb32-20e_fmnist.py
_base_ = [
    '../_base_/models/densenas_demo_search.py',
    '../_base_/datasets/fashion_mnist.py',
    '../_base_/schedules/densenas_demo_search.py',
]

model = dict(
    architecture=dict(data_preprocessor={{_base_.data_preprocessor}}))

# The weight pass reads search-train (random crops and flips), the
# architecture pass search-val (test transform). Supernet validation reads
# search-val too, so best.yaml is selected without the test images.
train_dataloader = {{_base_.search_train_dataloader}}
val_dataloader = {{_base_.supernet_val_dataloader}}
train_cfg = dict(arch_dataloader={{_base_.search_val_dataloader}})
