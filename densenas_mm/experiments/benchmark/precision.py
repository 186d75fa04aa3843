"""Do the step settings compute the same thing?

For the first step of each kind (faithful weight step, arch step,
path-sampling weight step; same seed, same state), the loss and the
gradients that step's optimiser would apply (weights; alpha/beta in the arch
step), in every setting, compared with the ``reference`` setting and with
the same step in float64 (the reference setting's kernels on a float64 copy
of the model): relative norm of the gradient difference,
``||g - g_ref|| / ||g_ref||`` over all those parameters.
"""
import copy
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch
from torch import Tensor

from densenas_mm.models.algorithms import SAMPLING_OF_PHASE, step_seed
from .builders import Bench
from .settings import SETTINGS, StepSetting

#: (case, phase, one sampled path) of the compared steps.
CHECKS = (('weight', 'weight', False), ('arch', 'arch', False),
          ('weight_path', 'weight', True))


def loss_and_grads(algo,
                   batch: Dict[str, Any],
                   phase: str,
                   sample_path: bool,
                   seed: int,
                   dtype: Optional[torch.dtype] = None
                   ) -> Tuple[float, Dict[str, Tensor]]:
    """Loss of one step of ``phase`` and its gradients (float64 copies).

    The ops (and path) are sampled as the step samples them; the gradients
    are those the step's optimiser applies: of the weights in a weight
    step, of alpha/beta in an arch step (``torch.autograd.grad``: nothing is
    accumulated or updated).
    """
    algo.mutator.set_sampling(
        SAMPLING_OF_PHASE[phase],
        torch.Generator().manual_seed(seed),
        arch_grad=phase == 'arch',
        sample_path=sample_path)
    data = algo.data_preprocessor(batch, True)
    inputs = data['inputs'] if dtype is None else data['inputs'].to(dtype)
    inputs = algo.memory.apply_to_batch(dict(inputs=inputs))['inputs']
    losses = algo.loss(inputs, data['data_samples'], phase=phase)
    loss, _ = algo.parse_losses(losses)
    if phase == 'arch':
        named = list(algo.mutator.arch_params.items())
    else:
        named = [(n, p) for n, p in algo.architecture.named_parameters()
                 if p.requires_grad]
    grads = torch.autograd.grad(
        loss, [p for _, p in named], allow_unused=True)
    return float(loss.detach()), {
        n: g.detach().double()
        for (n, _), g in zip(named, grads) if g is not None
    }


def relative_diff(grads: Dict[str, Tensor], ref: Dict[str, Tensor]) -> float:
    """``||g - g_ref|| / ||g_ref||`` over the parameters of ``ref`` (a
    parameter without a gradient counts as zero)."""
    num = den = 0.0
    for name, r in ref.items():
        g = grads.get(name)
        d = r if g is None else g - r
        num += float((d * d).sum())
        den += float((r * r).sum())
    extra = [n for n in grads if n not in ref]
    num += sum(float((grads[n] * grads[n]).sum()) for n in extra)
    return (num / den)**0.5 if den > 0 else 0.0


def compare_settings(bench: Bench,
                     settings: Sequence[StepSetting],
                     float64: bool = True) -> Dict[str, Any]:
    """Losses and gradients of the first step of each kind per setting.

    Args:
        bench (Bench): The built objects (their state is not changed).
        settings (Sequence[StepSetting]): The settings to compare.
        float64 (bool): Also compute the float64 step (a float64 copy of
            the model with the reference kernels) and each setting's error
            against it.

    Returns:
        dict: ``case -> dict(settings={name: dict(loss, loss_diff,
        grad_diff, grad_error_vs_float64)}, float64_loss, params)``; the
        diffs are against the ``reference`` setting when compared, else
        against the last one.
    """
    algo = bench.algorithm
    truth_algo = None
    if float64:
        truth_algo = copy.deepcopy(algo).double()
        SETTINGS['reference'].apply_to_algorithm(truth_algo)
    names: List[str] = [s.name for s in settings]
    base_name = 'reference' if 'reference' in names else names[-1]
    out: Dict[str, Any] = {}
    for case, phase, sample_path in CHECKS:
        seed = step_seed(0, phase, 0, 0)
        runs = {}
        for setting in settings:
            setting.apply_to_algorithm(algo)
            runs[setting.name] = loss_and_grads(algo, bench.batch, phase,
                                                sample_path, seed)
        truth = (loss_and_grads(truth_algo, bench.batch, phase, sample_path,
                                seed, torch.float64)
                 if truth_algo is not None else None)
        base_loss, base_grads = runs[base_name]
        rows = {}
        for name, (loss, grads) in runs.items():
            rows[name] = dict(
                loss=loss,
                loss_diff=abs(loss - base_loss),
                grad_diff=relative_diff(grads, base_grads),
                grad_error_vs_float64=(None if truth is None else
                                       relative_diff(grads, truth[1])))
        out[case] = dict(
            settings=rows,
            compared_with=base_name,
            float64_loss=None if truth is None else truth[0],
            params=len(base_grads))
    del truth_algo
    return out
