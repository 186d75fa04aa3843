# A small MobileNetV2-based space for the embedded 32x32 demo data: cheap
# enough to search on 2 CPU cores in minutes, with the same structure as the
# paper's space (dense connections, head + stacking layers, terminal 1x1).
search_space = dict(
    name='densenas_demo_32',
    input_size=32,
    stem_channels=8,
    stem_stride=2,
    stem_ops=['mbconv_k3_t1'],
    widths=[12, 16, 24, 32, 40, 64],
    resolutions=[16, 8, 8, 4, 4, 4],
    stages=[1, 2, 2, 3, 3, 4],
    num_layers=[1, 1, 1, 1, 1, 0],
    connections=3,
    head_ops=['mbconv_k3_t3', 'mbconv_k3_t6', 'mbconv_k5_t3'],
    stack_ops=['mbconv_k3_t3', 'mbconv_k5_t3', 'skip_connect'],
    last_dim=128,
    terminal_in_subnet=True,
    num_classes=10,
    act='relu6')
