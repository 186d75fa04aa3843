# A larger demo-style space for the search-quality study (issue 21, item
# 2): the demo space's ops, but stem stride 1 (the first blocks run at
# 32x32, so where the net downsamples matters), eight blocks instead of six,
# up to 2-3 stacking layers per block and a wider width range (12-96).
# Candidate setting only: docs/search_quality.md ("Candidate settings")
# has the screening commands; its latency table is built like the demo's:
#
#   python tools/build_latency_lut.py \
#       configs/_base_/search_spaces/densenas_demo_wide_32.py --device cpu \
#       --batch-size 32 --threads 1
search_space = dict(
    name='densenas_demo_wide_32',
    input_size=32,
    stem_channels=8,
    stem_stride=1,
    stem_ops=['mbconv_k3_t1'],
    widths=[12, 16, 24, 32, 48, 64, 80, 96],
    resolutions=[32, 16, 16, 8, 8, 4, 4, 4],
    stages=[1, 2, 2, 3, 3, 4, 4, 5],
    num_layers=[2, 2, 3, 3, 3, 2, 2, 0],
    connections=3,
    head_ops=['mbconv_k3_t3', 'mbconv_k3_t6', 'mbconv_k5_t3'],
    stack_ops=['mbconv_k3_t3', 'mbconv_k5_t3', 'skip_connect'],
    last_dim=128,
    terminal_in_subnet=True,
    num_classes=10,
    act='relu6')
