# The paper's ResNet-based space for 224x224 ImageNet (method doc 1.2).
search_space = dict(
    name='densenas_resnet_224',
    input_size=224,
    stem_channels=32,
    stem_stride=2,
    stem_ops=[],
    widths=[48, 56, 64, 72, 96, 112, 128, 144, 160, 176, 192, 208, 224, 240,
            256, 272, 288, 480, 496, 512],
    resolutions=[56] * 3 + [28] * 3 + [14] * 7 + [7] * 7,
    stages=[1] * 3 + [2] * 3 + [3] * 4 + [4] * 3 + [5] * 4 + [6] * 3,
    num_layers=[0] * 3 + [5] * 3 + [15] * 4 + [5] * 3 + [5] * 4 + [1] * 3,
    connections=10,
    head_ops=['basic_block'],
    stack_ops=['basic_block', 'skip_connect'],
    last_dim=512,
    terminal_in_subnet=False,
    num_classes=100,
    act='relu')
