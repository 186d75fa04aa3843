"""Comparing two demo runs: timings left out, every computed value kept."""
import json
import os

import pytest

from densenas_mm.experiments.demo_compare import compare_demo_runs


def _demo_dir(root, name, losses, step_time, measured, top1=81.15):
    vis = os.path.join(root, name, 'search', '20261206_000000', 'vis_data')
    os.makedirs(vis)
    os.makedirs(os.path.join(root, name, 'search', 'arch'))
    with open(os.path.join(vis, 'scalars.json'), 'w') as f:
        for i, loss in enumerate(losses):
            f.write(json.dumps(dict(loss=loss, step=i, time=step_time,
                                    data_time=step_time / 10)) + '\n')
    with open(os.path.join(vis, 'search_scalars.json'), 'w') as f:
        f.write(json.dumps(dict(alpha_entropy=1.04, epoch=1,
                                arch_step_time=step_time)) + '\n')
    with open(os.path.join(root, name, 'search', 'arch', 'best.yaml'),
              'w') as f:
        f.write('path: [0, 1, 2]\n')
    with open(os.path.join(root, name, 'summary.json'), 'w') as f:
        json.dump(dict(nets=[dict(net='searched', top1=top1,
                                  lut_latency_ms=5.69,
                                  measured_latency_ms=measured,
                                  latency_rel_error=5.69 / measured - 1)]),
                  f)
    return os.path.join(root, name)


def test_timings_are_left_out_and_values_kept(tmp_path):
    a = _demo_dir(tmp_path, 'a', [2.43, 2.35], step_time=0.09, measured=6.1)
    b = _demo_dir(tmp_path, 'b', [2.43, 2.35], step_time=0.13, measured=6.4)
    same, lines = compare_demo_runs(a, b)
    assert same
    assert lines == [
        'weight_steps: identical (2 rows)', 'search_epochs: identical (1 rows)',
        'best_arch: identical (text)', 'nets: identical (1 rows)'
    ]
    c = _demo_dir(tmp_path, 'c', [2.43, 2.36], step_time=0.09, measured=6.1,
                  top1=81.16)
    same, lines = compare_demo_runs(a, c)
    assert not same
    assert lines[0] == 'weight_steps: differ (2 vs 2 rows; first at row 1)'
    assert lines[3] == 'nets: differ (1 vs 1 rows; first at row 0)'


def test_an_unfinished_work_dir_is_named(tmp_path):
    a = _demo_dir(tmp_path, 'a', [2.4], step_time=0.1, measured=6.0)
    os.makedirs(tmp_path / 'empty' / 'search' / 'arch')
    (tmp_path / 'empty' / 'search' / 'arch' / 'best.yaml').write_text('x')
    (tmp_path / 'empty' / 'summary.json').write_text('{"nets": []}')
    with pytest.raises(FileNotFoundError, match='finished demo work dir'):
        compare_demo_runs(a, str(tmp_path / 'empty'))
