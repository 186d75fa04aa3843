"""What DDP moves in a search step (2 gloo processes, the demo model).

Weight steps go through DDP's reducer (weights and the unused alpha/beta,
as zeros: ``find_unused_parameters``); architecture steps run beside it
and all-reduce exactly the alpha+beta elements once, plus the two flags of
the finite/divergence check. The rank check fails loudly when one rank's
alpha drifts.
"""
import json
import os.path as osp

import pytest
import torch.multiprocessing as mp

from densenas_mm.models.algorithms.guards import StepGuards

from helpers.ddp_traffic import run_rank


def _run(tmp_path, perturb_rank=-1):
    mp.start_processes(
        run_rank,
        args=(2, str(tmp_path / 'init'), str(tmp_path), perturb_rank),
        nprocs=2,
        join=True,
        start_method='spawn')
    return [
        json.load(open(osp.join(tmp_path, f'rank{r}.json'))) for r in (0, 1)
    ]


@pytest.mark.slow
def test_arch_steps_all_reduce_only_alpha_and_beta(tmp_path):
    ranks = _run(tmp_path)
    for seen in ranks:
        n_arch, n_weights = seen['n_arch'], seen['n_weights']
        assert 0 < n_arch < n_weights
        for phase in ('warmup', 'weight'):
            # every weight and (unused, zero) alpha/beta gradient, once
            assert seen[phase]['ddp'] == n_weights + n_arch
            # the step guards' flags (non-finite / diverged loss, non-finite
            # alpha/beta)
            assert seen[phase]['other'] == [StepGuards.NUM_FLAGS] == [3]
        assert seen['arch']['ddp'] == 0
        assert sorted(seen['arch']['other']) == [StepGuards.NUM_FLAGS, n_arch]
        assert seen['rank_check'] == 'ok'
    # the averaged arch step left alpha/beta identical on both ranks
    assert ranks[0]['arch_values'] == ranks[1]['arch_values']


@pytest.mark.slow
def test_rank_check_fails_loudly_on_a_drifted_alpha(tmp_path):
    ranks = _run(tmp_path, perturb_rank=1)
    for seen in ranks:
        assert seen['rank_check'].startswith(
            'ranks disagree on alpha/beta at step test')
        assert 'same config, seed and data order' in seen['rank_check']
