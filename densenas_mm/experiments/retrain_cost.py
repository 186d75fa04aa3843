"""What makes one retrain of a small derived net cheaper?

A retrain of the demo (``configs/densenas/subnets/densenas_subnet-demo_*``)
is a few hundred SGD steps of a net of ~1.5 MMACs per image: its cost is
per-call overhead more than arithmetic. This benchmark times, in one
process and alternating round by round (so that a changing machine load
hits every variant alike), the two halves of a training iteration:

* the **step** (data preprocessor, forward with the loss, backward, SGD
  update) of the subnet config's model, per variant of
  :data:`STEP_VARIANTS`: the config's batch size, larger batches,
  channels-last tensors, ``torch.compile`` of the model's forward;
* the **batch** (reading and augmenting the images), per variant of
  :data:`DATA_VARIANTS`: the config's data loader in-process (what the
  experiments run: ``num_workers=0``) against the same images preloaded as
  one uint8 tensor and augmented batch-wise in torch (random 2-pixel shift
  and horizontal flip, the config's pipeline).

Each is reported as CPU seconds per image (``time.process_time``: the
machine may be shared) and wall seconds per image, the median over rounds;
the step variants that compute the same function (channels-last, compile)
also report their loss and gradient difference from the default after one
step on the same batch (next to the default's difference from itself,
built again), so "the same function" is checked, not assumed; the CPU
seconds of each variant's first call (``torch.compile``'s compilation,
paid once per retrain process) are reported too.
Command line: ``tools/benchmark/retrain_cost.py``.
"""
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from densenas_mm.utils.io import dump_json_atomic
from .benchmark.machine import machine_info

#: Step variants: (batch size factor of the config's, channels-last,
#: compiled).
STEP_VARIANTS = {
    'config': (1, False, False),
    'channels_last': (1, True, False),
    'compile': (1, False, True),
    'batch_x2': (2, False, False),
    'batch_x4': (4, False, False),
}
#: Data variants.
DATA_VARIANTS = ('loader', 'preloaded')


def _load_cfg(config: str, options: Sequence[str] = ()):
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from densenas_mm.apis.cli import parse_cfg_options
    cfg = Config.fromfile(config)
    opts = parse_cfg_options(list(options))
    if opts:
        cfg.merge_from_dict(opts)
    init_default_scope(cfg.get('default_scope', 'mmcls'))
    return cfg


def _build_model(cfg, channels_last: bool, compiled: bool, seed: int):
    from mmengine.optim import build_optim_wrapper

    from densenas_mm.registry import MODELS
    torch.manual_seed(seed)
    model = MODELS.build(cfg.model.to_dict())
    model.init_weights()
    model.train()
    if channels_last:
        model.to(memory_format=torch.channels_last)
    optim = build_optim_wrapper(model, cfg.optim_wrapper.to_dict())
    forward = torch.compile(model) if compiled else model
    return model, forward, optim


def _batches(loader, count: int) -> List[Dict[str, Any]]:
    out = []
    while len(out) < count:
        for batch in loader:
            out.append(batch)
            if len(out) == count:
                break
    return out


def _merge(batches: Sequence[Dict[str, Any]]) -> Dict[str, Any]:
    """Several collated batches as one (a larger batch of the same
    images)."""
    return dict(inputs=[x for b in batches for x in b['inputs']],
                data_samples=[s for b in batches for s in b['data_samples']])


def _step_fn(model, forward, optim, batch: Dict[str, Any],
             channels_last: bool) -> Callable[[], float]:
    def step() -> float:
        data = model.data_preprocessor(batch, True)
        if channels_last:
            data['inputs'] = data['inputs'].contiguous(
                memory_format=torch.channels_last)
        losses = forward(**data, mode='loss')
        loss, _ = model.parse_losses(losses)
        optim.update_params(loss)
        return float(loss)
    return step


def _grads_after_one_step(cfg, variant: Tuple[int, bool, bool],
                          batch: Dict[str, Any], seed: int
                          ) -> Tuple[float, List[torch.Tensor]]:
    model, forward, _ = _build_model(cfg, variant[1], variant[2], seed)
    data = model.data_preprocessor(batch, True)
    if variant[1]:
        data['inputs'] = data['inputs'].contiguous(
            memory_format=torch.channels_last)
    loss, _ = model.parse_losses(forward(**data, mode='loss'))
    loss.backward()
    return float(loss), [p.grad.detach().clone() for p in model.parameters()
                         if p.grad is not None]


def _rel_diff(grads: Sequence[torch.Tensor],
              ref: Sequence[torch.Tensor]) -> float:
    """``||g - ref|| / ||ref||`` over all gradients together."""
    diff = torch.sqrt(sum(((a - b)**2).sum() for a, b in zip(grads, ref)))
    norm = torch.sqrt(sum((b**2).sum() for b in ref))
    return float(diff / norm)


def _raw_image(dataset, index: int) -> np.ndarray:
    """An image of the dataset before augmentation: its ``img`` (in-memory
    datasets) or what the pipeline's first transform loads (files)."""
    info = dataset.get_data_info(index)
    if 'img' not in info:
        info = dataset.pipeline.transforms[0](info)
    return info['img']


def _preloaded_fn(dataset, batch_size: int, seed: int) -> Callable[[], Any]:
    """Batches of the dataset's images from one uint8 tensor, augmented in
    torch (shift of up to 2 pixels with zero padding, horizontal flip)."""
    images = torch.stack([
        torch.as_tensor(np.ascontiguousarray(_raw_image(dataset, i)))
        for i in range(len(dataset))
    ])
    if images.dim() == 3:
        images = images[:, None]
    elif images.shape[-1] in (1, 3):  # HWC
        images = images.permute(0, 3, 1, 2)
    images = images.contiguous()
    gen = torch.Generator().manual_seed(seed)
    size = images.shape[-1]

    def batch() -> torch.Tensor:
        idx = torch.randint(0, len(images), (batch_size, ), generator=gen)
        x = torch.nn.functional.pad(images[idx], (2, 2, 2, 2))
        dy, dx = torch.randint(0, 5, (2, ), generator=gen).tolist()
        x = x[..., dy:dy + size, dx:dx + size]
        flip = torch.rand(batch_size, generator=gen) < 0.5
        x[flip] = x[flip].flip(-1)
        return x
    return batch


def _timed(fn: Callable[[], Any], calls: int) -> Tuple[float, float]:
    c0, w0 = time.process_time(), time.perf_counter()
    for _ in range(calls):
        fn()
    return time.process_time() - c0, time.perf_counter() - w0


def run(config: str,
        rounds: int = 5,
        calls: int = 10,
        variants: Sequence[str] = tuple(STEP_VARIANTS),
        data: bool = True,
        seed: int = 0,
        options: Sequence[str] = (),
        out: Optional[str] = None) -> Dict[str, Any]:
    """Time the step and data variants, alternating round by round.

    Args:
        config (str): A subnet (retrain) config.
        rounds (int): Rounds; each times every variant once.
        calls (int): Calls per variant and round (steps or batches).
        variants (Sequence[str]): Keys of :data:`STEP_VARIANTS`.
        data (bool): Also time :data:`DATA_VARIANTS`.
        seed (int): Seed of the model weights and the batch draws.
        options (Sequence[str]): ``key=value`` config options.
        out (str, optional): Write the report there (JSON, atomic).

    Returns:
        dict: ``steps`` and ``data``: per variant the median CPU and wall
        seconds per image, the first call's CPU seconds, and per step
        variant of the config's batch size its loss difference and relative
        gradient difference (L2, all gradients) from ``config`` after one
        step.

    Raises:
        ValueError: An unknown variant.
    """
    from mmengine.runner import Runner
    unknown = sorted(set(variants) - set(STEP_VARIANTS))
    if unknown:
        raise ValueError(f'unknown step variants {unknown}; choose from '
                         f'{list(STEP_VARIANTS)}')
    torch.set_num_threads(1)
    cfg = _load_cfg(config, options)
    loader_cfg = cfg.train_dataloader.to_dict()
    loader_cfg.update(num_workers=0, persistent_workers=False)
    loader = Runner.build_dataloader(loader_cfg, seed=seed)
    batch_size = loader_cfg['batch_size']
    base = _batches(loader, 4)
    fns, images, checks, warmup = {}, {}, {}, {}
    ref = _grads_after_one_step(cfg, STEP_VARIANTS['config'], base[0], seed)
    # the floor: the default built and stepped again
    again = _grads_after_one_step(cfg, STEP_VARIANTS['config'], base[0], seed)
    checks['config'] = dict(loss_diff=abs(again[0] - ref[0]),
                            grad_rel_diff=_rel_diff(again[1], ref[1]))
    for name in variants:
        factor, cl, comp = STEP_VARIANTS[name]
        batch = _merge(base[:factor])
        model, forward, optim = _build_model(cfg, cl, comp, seed)
        fns[name] = _step_fn(model, forward, optim, batch, cl)
        warmup[name] = _timed(fns[name], 1)[0]  # (and the compilation)
        images[name] = factor * batch_size
        if factor == 1 and name != 'config':
            loss, grads = _grads_after_one_step(cfg, STEP_VARIANTS[name],
                                                base[0], seed)
            checks[name] = dict(loss_diff=abs(loss - ref[0]),
                                grad_rel_diff=_rel_diff(grads, ref[1]))
    data_fns: Dict[str, Callable[[], Any]] = {}
    if data:
        it = iter(loader)

        def from_loader() -> Any:
            nonlocal it
            try:
                return next(it)
            except StopIteration:
                it = iter(loader)
                return next(it)
        data_fns = dict(loader=from_loader,
                        preloaded=_preloaded_fn(loader.dataset, batch_size,
                                                seed))
    samples: Dict[str, List[Tuple[float, float]]] = {
        k: [] for k in list(fns) + list(data_fns)
    }
    for _ in range(rounds):
        for name, fn in fns.items():
            cpu, wall = _timed(fn, calls)
            samples[name].append((cpu / (calls * images[name]),
                                  wall / (calls * images[name])))
        for name, fn in data_fns.items():
            cpu, wall = _timed(fn, calls)
            samples[name].append((cpu / (calls * batch_size),
                                  wall / (calls * batch_size)))

    def med(name: str) -> Dict[str, float]:
        arr = np.array(samples[name])
        return dict(cpu_s_per_image=float(np.median(arr[:, 0])),
                    wall_s_per_image=float(np.median(arr[:, 1])))

    report = dict(
        config=config, options=list(options), rounds=rounds, calls=calls,
        batch_size=batch_size, machine=machine_info(),
        steps={n: dict(med(n), images_per_step=images[n],
                       first_call_cpu_s=warmup[n], **checks.get(n, {}))
               for n in fns},
        data={n: med(n) for n in data_fns})
    if out:
        dump_json_atomic(report, out)
    return report


def format_report(report: Dict[str, Any]) -> str:
    """A markdown table of the variants, relative to the config's."""
    m = report['machine']
    lines = [
        f"{report['config']}: {report['rounds']} rounds x "
        f"{report['calls']} calls, alternating; {m['cpu']}, "
        f"{m['cores']} cores, load {m['load']}, torch {m['torch']}",
        '',
        '| part | variant | images/call | CPU ms/image | wall ms/image | '
        'vs config (CPU) | first call CPU s | loss / rel. grad diff |',
        '|---|---|---|---|---|---|---|---|',
    ]
    base = report['steps'].get('config', {}).get('cpu_s_per_image')
    for name, r in report['steps'].items():
        rel = f"{r['cpu_s_per_image'] / base:.2f}x" if base else '-'
        diff = (f"{r['loss_diff']:.1e} / {r['grad_rel_diff']:.1e}"
                if 'loss_diff' in r else '-')
        lines.append(f"| step | {name} | {r['images_per_step']} | "
                     f"{1e3 * r['cpu_s_per_image']:.3f} | "
                     f"{1e3 * r['wall_s_per_image']:.3f} | {rel} | "
                     f"{r['first_call_cpu_s']:.2f} | {diff} |")
    dbase = report['data'].get('loader', {}).get('cpu_s_per_image')
    for name, r in report['data'].items():
        rel = f"{r['cpu_s_per_image'] / dbase:.2f}x" if dbase else '-'
        lines.append(f"| batch | {name} | {report['batch_size']} | "
                     f"{1e3 * r['cpu_s_per_image']:.3f} | "
                     f"{1e3 * r['wall_s_per_image']:.3f} | {rel} | - | - |")
    return '\n'.join(lines) + '\n'


__all__ = ['DATA_VARIANTS', 'STEP_VARIANTS', 'format_report', 'run']
