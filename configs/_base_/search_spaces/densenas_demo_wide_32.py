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
_base_ = ['./densenas_demo_32.py']

# the fields that differ from the demo space (ops, stem width, terminal
# width and connections are the demo's)
search_space = dict(
    name='densenas_demo_wide_32',
    stem_stride=1,
    widths=[12, 16, 24, 32, 48, 64, 80, 96],
    resolutions=[32, 16, 16, 8, 8, 4, 4, 4],
    stages=[1, 2, 2, 3, 3, 4, 4, 5],
    num_layers=[2, 2, 3, 3, 3, 2, 2, 0])
