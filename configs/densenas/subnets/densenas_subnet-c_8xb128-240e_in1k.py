# DenseNAS-C (CVPR 2020), retrained on ImageNet-1k with the reference recipe.
# Built from the published net_config (method doc section 5):
#   6.13 M params, 360.8 M mult-adds at 224x224, top-1 75.3 (published).
# Measured here (tools/analysis/get_flops.py): 6.134 M params, 360.81 M MACs.
_base_ = ['./densenas_subnet-mbv2_8xb128-240e_in1k.py']

net_config = (
    "[[16, 16], 'mbconv_k3_t1', [], 0, 1]|"
    "[[16, 24], 'mbconv_k3_t6', [], 0, 2]|"
    "[[24, 48], 'mbconv_k7_t6', ['mbconv_k3_t3'], 1, 2]|"
    "[[48, 72], 'mbconv_k5_t6', ['mbconv_k3_t6', 'mbconv_k3_t3'], 2, 2]|"
    "[[72, 128], 'mbconv_k3_t6', ['mbconv_k3_t3', 'mbconv_k3_t3'], 2, 1]|"
    "[[128, 160], 'mbconv_k3_t6', "
    "['mbconv_k7_t3', 'mbconv_k5_t6', 'mbconv_k7_t3'], 3, 2]|"
    "[[160, 176], 'mbconv_k3_t3', "
    "['mbconv_k3_t6', 'mbconv_k3_t6', 'mbconv_k3_t6'], 3, 1]|"
    "[[176, 384], 'mbconv_k7_t6', [], 0, 1]|"
    "[[384, 1984], 'conv1_1']")
arch_file = net_config

model = dict(backbone=dict(arch=net_config), head=dict(in_channels=1984))
