# Retrain of a derived DenseNAS architecture on the Fashion-MNIST demo data
# (configs/_base_/datasets/fashion_mnist.py: 2,500 training images = the
# search's search-train + search-val, evaluated on the 10,000 test images):
# the demo's retrain, 12 epochs at batch 32. The model, the default arch and
# the optimiser: configs/_base_/models/densenas_demo_subnet.py; the
# schedule: configs/_base_/schedules/densenas_demo_retrain.py.
#
#   CFG=configs/densenas/subnets/densenas_subnet-demo_1xb32-12e_fmnist.py
#   python tools/train.py $CFG \
#       --cfg-options model.backbone.arch=work_dirs/demo/arch.yaml
_base_ = [
    '../../_base_/models/densenas_demo_subnet.py',
    '../../_base_/datasets/fashion_mnist.py',
    '../../_base_/schedules/densenas_demo_retrain.py',
]
