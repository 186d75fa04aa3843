"""Config values derived from a few knobs when a run is built.

mmengine resolves a config's arithmetic (``val_begin = warmup_epochs + 1``)
and its ``{{_base_.x}}`` references when the file is parsed, so a
``--cfg-options warmup_epochs=1`` changes the variable and nothing that was
computed from it. :func:`derive_run_config` recomputes those values after
``--cfg-options`` are merged; ``tools/train.py``, ``tools/test.py`` and the
tools that build a config's model (:func:`~.model_io.load_config`) call it.

Two groups of knobs, each applied only when the config defines it:

* **Search length** (top-level ``warmup_epochs`` and ``search_epochs``:
  ``W`` epochs of weight training only, then ``S`` epochs with architecture
  updates): ``train_cfg.max_epochs = W + S``, ``train_cfg.val_begin = W + 1``
  (the supernet is validated, and ``best.yaml`` selected, after warm-up),
  every epoch-based scheduler of the weights (``T_max``, ``end``) over
  ``W + S`` epochs and ``DenseNASWarmupHook.warmup_epochs = W``.
* **Own data** (top-level ``own_data = dict(data_root=..., num_classes=...,
  input_size=...)``, the template
  ``configs/densenas/densenas_supernet-demo_1xb32-20e_owndata.py``):
  ``data_root`` of every loader; the class count of the search space, the
  head, the data preprocessor and ``DenseNASNet``; the evaluators' and the
  head's top-k (``(1, min(5, classes))``); the space's ``input_size`` (its
  block resolutions scaled with it) and the crop / resize sizes of every
  pipeline; ``own_data.mean`` / ``std`` in the data preprocessor. With
  ``num_classes=None`` the count is the number of lines of
  ``<data_root>/meta/classes.txt`` (what
  ``tools/dataset/split_class_folders.py`` writes).

The search length is derived only when a knob is given in
``--cfg-options`` (in a config file, mmengine has already computed the
derived keys from the file's knobs; a config that inherits the schedule
and sets ``train_cfg.max_epochs`` or the warm-up hook itself keeps its
values; a child config that changes a knob must set the derived keys too).
``own_data`` is always derived (it exists only in the own-data templates).
A derived key given explicitly in ``--cfg-options`` keeps the given value
(the explicit option wins); every other derived key is overwritten.
"""
import os.path as osp
from typing import Any, Callable, Collection, Dict, Iterator, List, Tuple

from mmengine.config import Config

from densenas_mm.datasets.checks import DataError

#: The loaders a run reads (a search loop keeps its architecture loader in
#: ``train_cfg``).
LOADER_KEYS = ('train_dataloader', 'val_dataloader', 'test_dataloader',
               'train_cfg.arch_dataloader')
#: The evaluators whose top-k follow the class count.
EVALUATOR_KEYS = ('val_evaluator', 'test_evaluator')
#: Pipeline transforms whose output size follows ``input_size``: type ->
#: the argument that holds the size.
SIZE_ARGS = {
    'RandomCrop': 'crop_size',
    'CenterCrop': 'crop_size',
    'RandomResizedCrop': 'scale',
    'Resize': 'scale',
}
WARMUP_HOOK = 'densenas_mm.DenseNASWarmupHook'


class DeriveError(ValueError):
    """A knob has a value the derived keys cannot follow."""


def get_key(cfg: Any, key: str, default: Any = None) -> Any:
    """``cfg['a']['b']...`` for ``key = 'a.b...'`` (list indices allowed)."""
    node = cfg._cfg_dict if isinstance(cfg, Config) else cfg
    for part in key.split('.'):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, (list, tuple)) and part.isdigit() and int(
                part) < len(node):
            node = node[int(part)]
        else:
            return default
    return node


def _given(key: str, explicit: Collection[str]) -> bool:
    """Whether ``key`` or a key above it was set in ``--cfg-options``."""
    parts = key.split('.')
    return any('.'.join(parts[:i]) in explicit
               for i in range(1, len(parts) + 1))


class _Setter:
    """Sets derived keys unless given explicitly; records each change."""

    def __init__(self, cfg: Config, explicit: Collection[str],
                 reason: str) -> None:
        self.cfg = cfg
        self.explicit = set(explicit)
        self.reason = reason
        self.changes: List[str] = []

    def set(self, node: Any, name: str, value: Any, key: str) -> None:
        """``node[name] = value`` (``key`` is its full config key)."""
        if _given(key, self.explicit) or not isinstance(node, dict):
            return
        old = node.get(name, None)
        if old != value:
            node[name] = value
            self.changes.append(f'{key}: {old!r} -> {value!r} '
                                f'({self.reason})')


def _int_knob(cfg: Config, name: str, minimum: int) -> int:
    value = cfg.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or (
            value < minimum):
        raise DeriveError(f'{name} must be an int >= {minimum}, got '
                          f'{value!r} (set it with --cfg-options '
                          f'{name}=N)')
    return value


def derive_search_length(cfg: Config,
                         explicit: Collection[str] = ()) -> List[str]:
    """Derive the schedule of a search from ``warmup_epochs`` and
    ``search_epochs`` (see the module doc), in place.

    Args:
        cfg (Config): The config; nothing happens unless it defines both
            knobs and a ``train_cfg``.
        explicit (Collection[str]): Keys given in ``--cfg-options``.

    Returns:
        list[str]: One line per changed key.

    Raises:
        DeriveError: For a knob that is not an int (``warmup_epochs >= 0``,
            ``search_epochs >= 1``).
    """
    if 'warmup_epochs' not in cfg or 'search_epochs' not in cfg or (
            not isinstance(cfg.get('train_cfg'), dict)):
        return []
    warmup = _int_knob(cfg, 'warmup_epochs', 0)
    search = _int_knob(cfg, 'search_epochs', 1)
    if not {'warmup_epochs', 'search_epochs'} & set(explicit):
        # the file's own values stand: as parsed they already follow the
        # file's knobs, and a config that inherits the schedule and sets
        # train_cfg.max_epochs (or the warm-up hook) itself keeps it
        return []
    total = warmup + search
    setter = _Setter(cfg, explicit, f'warmup_epochs={warmup}, '
                     f'search_epochs={search}')
    setter.set(cfg.train_cfg, 'max_epochs', total, 'train_cfg.max_epochs')
    setter.set(cfg.train_cfg, 'val_begin', warmup + 1, 'train_cfg.val_begin')
    for key, sched in _weight_schedulers(cfg):
        if sched.get('by_epoch', True):
            if 'T_max' in sched:
                setter.set(sched, 'T_max', total - sched.get('begin', 0),
                           f'{key}.T_max')
            if 'end' in sched:
                setter.set(sched, 'end', total, f'{key}.end')
    for index, hook in enumerate(cfg.get('custom_hooks') or []):
        if isinstance(hook, dict) and hook.get('type') == WARMUP_HOOK:
            setter.set(hook, 'warmup_epochs', warmup,
                       f'custom_hooks.{index}.warmup_epochs')
    return setter.changes


def _weight_schedulers(cfg: Config) -> Iterator[Tuple[str, Dict]]:
    """``(key, scheduler)`` of the weights' schedulers: the list of a plain
    config, ``param_scheduler.architecture`` of a search config."""
    scheds = cfg.get('param_scheduler')
    prefix = 'param_scheduler'
    if isinstance(scheds, dict) and 'type' not in scheds:
        scheds = scheds.get('architecture')
        prefix = 'param_scheduler.architecture'
    if isinstance(scheds, dict):
        yield prefix, scheds
    elif isinstance(scheds, (list, tuple)):
        for index, sched in enumerate(scheds):
            if isinstance(sched, dict):
                yield f'{prefix}.{index}', sched


def read_classes(data_root: str) -> List[str]:
    """The class names of ``<data_root>/meta/classes.txt``, one a line.

    Raises:
        DataError: When the file is missing or empty (how to write it).
    """
    path = osp.join(data_root, 'meta', 'classes.txt')
    if not osp.isfile(path):
        raise DataError(
            f'own_data.num_classes is None, so the classes are read from '
            f'{path}, which does not exist: write the lists with '
            f'python tools/dataset/split_class_folders.py IMAGES --out-dir '
            f'{osp.join(data_root, "meta")}, or set own_data.num_classes')
    with open(path, encoding='utf-8') as f:
        names = [line.strip() for line in f if line.strip()]
    if not names:
        raise DataError(f'{path} lists no classes; rewrite it with '
                        'tools/dataset/split_class_folders.py')
    return names


def topk_for(num_classes: int) -> Tuple[int, ...]:
    """``(1, 5)``, or ``(1, )`` / ``(1, C)`` when there are fewer than 5
    classes (mmcls's Accuracy fails on a top-k above the class count)."""
    return (1, ) if num_classes == 1 else (1, min(5, num_classes))


def scaled_resolutions(space: Dict, input_size: int) -> List[int]:
    """The space's block resolutions at ``input_size`` (same strides).

    Raises:
        DeriveError: When a resolution would not be a whole number.
    """
    old = int(space.get('input_size', 224))
    out = []
    for res in space['resolutions']:
        if (res * input_size) % old:
            raise DeriveError(
                f'own_data.input_size={input_size} does not keep the '
                f'strides of the space {space.get("name")!r} (defined at '
                f'{old}: block resolution {res} would become '
                f'{res * input_size / old:g}); use a multiple of '
                f'{old // _gcd(old, res)}')
        out.append(res * input_size // old)
    return out


def _gcd(a: int, b: int) -> int:
    while b:
        a, b = b, a % b
    return a


def _own_data_spec(cfg: Config) -> Dict[str, Any]:
    spec = cfg.own_data
    if not isinstance(spec, dict) or not spec.get('data_root'):
        raise DeriveError('own_data must be a dict with at least data_root, '
                          f'got {spec!r}')
    num_classes = spec.get('num_classes')
    if num_classes is None:
        num_classes = len(read_classes(spec['data_root']))
    if isinstance(num_classes, bool) or not isinstance(
            num_classes, int) or num_classes < 1:
        raise DeriveError('own_data.num_classes must be an int >= 1 or None '
                          f'(read meta/classes.txt), got {num_classes!r}')
    size = spec.get('input_size')
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise DeriveError('own_data.input_size must be an int >= 1 (pixels '
                          f'per side), got {size!r}')
    return dict(spec, num_classes=num_classes, input_size=size)


def _search_spaces(cfg: Config) -> Iterator[Tuple[str, Dict]]:
    for key in ('search_space', 'model.architecture.backbone.search_space',
                'model.backbone.search_space'):
        space = get_key(cfg, key)
        if isinstance(space, dict):
            yield key, space


def _pipelines(cfg: Config) -> Iterator[Tuple[str, List]]:
    for key in LOADER_KEYS:
        pipe = get_key(cfg, f'{key}.dataset.pipeline')
        if isinstance(pipe, list):
            yield f'{key}.dataset.pipeline', pipe


def derive_own_data(cfg: Config, explicit: Collection[str] = ()) -> List[str]:
    """Derive loaders, classes, top-k and sizes from ``own_data`` (see the
    module doc), in place.

    Args:
        cfg (Config): The config; nothing happens without ``own_data``.
        explicit (Collection[str]): Keys given in ``--cfg-options``.

    Returns:
        list[str]: One line per changed key.

    Raises:
        DeriveError: For a malformed ``own_data`` or an input size the
            space's strides cannot follow.
        DataError: ``num_classes=None`` and no ``meta/classes.txt``.
    """
    if 'own_data' not in cfg:
        return []
    spec = _own_data_spec(cfg)
    classes, size = spec['num_classes'], spec['input_size']
    setter = _Setter(cfg, explicit, 'from own_data')
    for key in LOADER_KEYS:
        dataset = get_key(cfg, f'{key}.dataset')
        if isinstance(dataset, dict):
            setter.set(dataset, 'data_root', spec['data_root'],
                       f'{key}.dataset.data_root')
    for key, space in _search_spaces(cfg):
        setter.set(space, 'num_classes', classes, f'{key}.num_classes')
        if space.get('input_size') != size and 'resolutions' in space:
            setter.set(space, 'resolutions', scaled_resolutions(space, size),
                       f'{key}.resolutions')
        setter.set(space, 'input_size', size, f'{key}.input_size')
    model = cfg.get('model') or {}
    prefix = 'model.architecture' if 'architecture' in model else 'model'
    net = model.get('architecture', model)
    head = net.get('head') if isinstance(net, dict) else None
    if isinstance(head, dict):
        setter.set(head, 'num_classes', classes, f'{prefix}.head.num_classes')
        if 'topk' in head:
            setter.set(head, 'topk', topk_for(classes), f'{prefix}.head.topk')
    backbone = net.get('backbone') if isinstance(net, dict) else None
    if isinstance(backbone, dict) and str(backbone.get('type', '')).endswith(
            'DenseNASNet'):
        setter.set(backbone, 'num_classes', classes,
                   f'{prefix}.backbone.num_classes')
        setter.set(backbone, 'input_size', size,
                   f'{prefix}.backbone.input_size')
    for key in ('data_preprocessor', f'{prefix}.data_preprocessor'):
        pre = get_key(cfg, key)
        if isinstance(pre, dict):
            setter.set(pre, 'num_classes', classes, f'{key}.num_classes')
            for stat in ('mean', 'std'):
                if spec.get(stat) is not None:
                    setter.set(pre, stat, list(spec[stat]), f'{key}.{stat}')
    for key in EVALUATOR_KEYS:
        evaluator = cfg.get(key)
        if isinstance(evaluator, dict) and 'topk' in evaluator:
            setter.set(evaluator, 'topk', topk_for(classes), f'{key}.topk')
    for key, pipe in _pipelines(cfg):
        for index, step in enumerate(pipe):
            arg = SIZE_ARGS.get(str(step.get('type', '')).split('.')[-1])
            if arg is not None and arg in step:
                value = (size, size) if isinstance(step[arg],
                                                   (list, tuple)) else size
                setter.set(step, arg, value, f'{key}.{index}.{arg}')
    return setter.changes


#: The derivation steps, in order.
DERIVATIONS: Tuple[Callable[[Config, Collection[str]], List[str]], ...] = (
    derive_search_length, derive_own_data)


def derive_run_config(cfg: Config,
                      explicit: Collection[str] = ()) -> List[str]:
    """Apply every derivation (see the module doc) to ``cfg``, in place.

    Args:
        cfg (Config): The config, ``--cfg-options`` already merged.
        explicit (Collection[str]): The keys of ``--cfg-options`` (their
            values are kept).

    Returns:
        list[str]: One line per changed key, for the log.
    """
    changes: List[str] = []
    for derive in DERIVATIONS:
        changes += derive(cfg, explicit)
    return changes
