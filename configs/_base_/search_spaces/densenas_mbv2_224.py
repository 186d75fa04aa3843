# The paper's MobileNetV2-based space for 224x224 ImageNet (method doc 1.1):
# 16 blocks, 54 edges, 51 head branches, 39 stacking layers, 15,456 paths.
_mbv2_ops = [
    'mbconv_k3_t3', 'mbconv_k3_t6', 'mbconv_k5_t3', 'mbconv_k5_t6',
    'mbconv_k7_t3', 'mbconv_k7_t6'
]
search_space = dict(
    name='densenas_mbv2_224',
    input_size=224,
    stem_channels=16,
    stem_stride=2,
    stem_ops=['mbconv_k3_t1'],
    widths=[24, 32, 40, 48, 56, 64, 72, 96, 112, 128, 160, 176, 192, 320,
            352, 384],
    resolutions=[56, 28, 28, 28, 14, 14, 14, 14, 14, 14, 7, 7, 7, 7, 7, 7],
    stages=[1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 5, 5, 5, 6, 6, 6],
    num_layers=[3] * 13 + [0] * 3,
    connections=4,
    head_ops=_mbv2_ops,
    stack_ops=_mbv2_ops + ['skip_connect'],
    last_dim=1984,
    terminal_in_subnet=True,
    num_classes=100,
    act='relu6')
