"""Published DenseNAS architectures in the reference net_config format.

Only nets whose net_config string the paper's code published are listed.
"""
from typing import Dict

#: DenseNAS-C (ImageNet top-1 75.3; 6.13 M params, 360.8 M mult-adds).
DENSENAS_C = (
    "[[16, 16], 'mbconv_k3_t1', [], 0, 1]|"
    "[[16, 24], 'mbconv_k3_t6', [], 0, 2]|"
    "[[24, 48], 'mbconv_k7_t6', ['mbconv_k3_t3'], 1, 2]|"
    "[[48, 72], 'mbconv_k5_t6', ['mbconv_k3_t6', 'mbconv_k3_t3'], 2, 2]|"
    "[[72, 128], 'mbconv_k3_t6', ['mbconv_k3_t3', 'mbconv_k3_t3'], 2, 1]|"
    "[[128, 160], 'mbconv_k3_t6', ['mbconv_k7_t3', 'mbconv_k5_t6', "
    "'mbconv_k7_t3'], 3, 2]|"
    "[[160, 176], 'mbconv_k3_t3', ['mbconv_k3_t6', 'mbconv_k3_t6', "
    "'mbconv_k3_t6'], 3, 1]|"
    "[[176, 384], 'mbconv_k7_t6', [], 0, 1]|"
    "[[384, 1984], 'conv1_1']")

PUBLISHED_NET_CONFIGS: Dict[str, str] = {'densenas-c': DENSENAS_C}
