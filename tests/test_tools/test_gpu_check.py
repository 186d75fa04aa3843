"""tools/benchmark/gpu_check.py in its dry mode: every stage on the CPU."""
import json
import os.path as osp

import pytest
import torch

from densenas_mm.experiments.gpu_check import STAGES, run_gpu_check
from helpers.tools import load_tool

TOOL = load_tool('benchmark/gpu_check.py')


@pytest.mark.slow
def test_dry_run_writes_every_stage(tmp_path):
    out = str(tmp_path / 'check')
    threads = torch.get_num_threads()
    try:
        status = TOOL.main(['--out', out, '--dry-run'])
    finally:
        torch.set_num_threads(threads)
    results = {}
    for stage in STAGES:
        with open(osp.join(out, f'{stage}.json')) as f:
            results[stage] = json.load(f)
        assert results[stage]['dry_run'] and results[stage]['device'] == 'cpu'
    with open(osp.join(out, 'summary.json')) as f:
        summary = json.load(f)
    assert set(summary) == set(STAGES)
    assert status == int(not all(r['passed'] for r in summary.values()))
    # the same model on the same device: identical numbers
    same = results['cuda_vs_cpu']
    assert same['passed'] and same['expected_cost_rel_diff'] == 0
    assert set(same['loss_diff']) == {'warmup', 'weight', 'arch'}
    assert same['alpha_update_diff'] == 0 < same['alpha_update_max']
    # AMP gradients computed (their agreement is what a GPU run decides)
    amp = results['amp']
    assert set(amp['cosine']) == {'float16', 'bfloat16'}
    assert all(amp['finite'].values())
    assert all(-1 <= c <= 1 for c in amp['cosine'].values())
    table = results['latency_table']
    assert table['passed'] and table['entries'] > 10
    # a CPU table: host clock, no CUDA setting recorded
    assert table['clock'] in ('thread', 'wall')
    assert table['recorded_flags'] == {} and table['calls_per_sample'] is None
    second = table['second_device']
    assert second['passed'] and second['devices'] == ['cpu', 'cpu']
    assert second['rel_diff'] == 0 and second['ms']['cpu'] > 0
    assert osp.isfile(table['table'])
    ddp = results['ddp']
    assert ddp['passed'] and ddp['backend'] == 'gloo'
    n_arch = ddp['ranks'][0]['n_arch']
    arch = ddp['per_phase']['arch']['bytes_per_step']
    assert arch['ddp_elements'] == 0
    assert sorted(arch['other_elements']) == [3, n_arch]  # flags, alpha/beta
    assert arch['other_bytes'] == 4 * (3 + n_arch)


def test_bad_stage_and_no_cuda_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match='unknown stage'):
        run_gpu_check(str(tmp_path), dry_run=True, stages=['warp'])
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match='--dry-run'):
            run_gpu_check(str(tmp_path))
