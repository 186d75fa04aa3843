# The demo search (configs/densenas/densenas_supernet-demo_1xb32-20e_fmnist.py)
# in the larger candidate space of configs/_base_/search_spaces/
# densenas_demo_wide_32.py (stem stride 1, 8 blocks, 2-3 stacking layers,
# widths 12-96): a candidate setting of the search-quality study
# (docs/search_quality.md), screened with tools/benchmark/signal_check.py
# before any search runs. The fields below are the ones that differ from
# the demo space (tests/test_configs/test_candidate_configs.py checks that
# the result equals the space file). Its table:
#
#   python tools/build_latency_lut.py \
#       configs/_base_/search_spaces/densenas_demo_wide_32.py --device cpu \
#       --batch-size 32 --threads 1
_base_ = ['./densenas_supernet-demo_1xb32-20e_fmnist.py']

model = dict(
    architecture=dict(
        backbone=dict(
            search_space=dict(
                name='densenas_demo_wide_32',
                stem_stride=1,
                widths=[12, 16, 24, 32, 48, 64, 80, 96],
                resolutions=[32, 16, 16, 8, 8, 4, 4, 4],
                stages=[1, 2, 2, 3, 3, 4, 4, 5],
                num_layers=[2, 2, 3, 3, 3, 2, 2, 0]))),
    estimator=dict(
        lut='work_dirs/latency/densenas_demo_wide_32_cpu_b32_t1.json'))
