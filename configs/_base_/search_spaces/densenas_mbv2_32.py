# MobileNetV2-based space for 32x32 inputs (CIFAR-sized): the paper's widths
# and stages, stem stride 1 and resolutions 32/16/8/4.
_mbv2_ops = [
    'mbconv_k3_t3', 'mbconv_k3_t6', 'mbconv_k5_t3', 'mbconv_k5_t6',
    'mbconv_k7_t3', 'mbconv_k7_t6'
]
search_space = dict(
    name='densenas_mbv2_32',
    input_size=32,
    stem_channels=16,
    stem_stride=1,
    stem_ops=['mbconv_k3_t1'],
    widths=[24, 32, 40, 48, 56, 64, 72, 96, 112, 128, 160, 176, 192, 320,
            352, 384],
    resolutions=[32, 16, 16, 16, 8, 8, 8, 8, 8, 8, 4, 4, 4, 4, 4, 4],
    stages=[1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 5, 5, 5, 6, 6, 6],
    num_layers=[3] * 13 + [0] * 3,
    connections=4,
    head_ops=_mbv2_ops,
    stack_ops=_mbv2_ops + ['skip_connect'],
    last_dim=1280,
    terminal_in_subnet=True,
    num_classes=10,
    act='relu6')
