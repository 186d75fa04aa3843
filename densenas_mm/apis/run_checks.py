"""Build-time consistency checks of a run's config, before any training.

A config holds the same fact in several places: the class count in the
search space, the head, the data preprocessor, the dataset and the
evaluator's top-k; the input size in the space, the pipelines (or the
images themselves when no transform sets the size) and the latency table.
mmengine builds each part on its own, so a disagreement shows late (a top-5
on 3 classes fails at the first validation, after the warm-up) or never
(64x64 images searched with a 32x32 space and table: every latency refers
to 32x32). :func:`check_run_config` compares them when the run is built and
raises :class:`RunConfigError` naming every key involved and what to set.

Image sizes come from a header-only scan (Pillow's lazy open) of the images
a loader lists, only for loaders whose pipeline has no transform that sets
the size; ``check_image_sizes='decode'`` in the config decodes them fully,
``'none'`` skips the scan.
"""
import os.path as osp
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

from densenas_mm.datasets.checks import read_annotation
from densenas_mm.datasets.image_files import SIZE_SCANS, scan_sizes

from .derive import (EVALUATOR_KEYS, LOADER_KEYS, SIZE_ARGS, get_key,
                     topk_for)

#: Transforms that change the size in a way the checks do not follow (the
#: output size of a pipeline ending in one of them is unknown).
_OTHER_SIZE_TRANSFORMS = ('ResizeEdge', 'RandomResize', 'Pad', 'ThreeCrop',
                          'TenCrop', 'EfficientNetRandomCrop',
                          'EfficientNetCenterCrop')


class RunConfigError(ValueError):
    """Parts of a run's config disagree (classes, top-k or input size)."""


def _net_prefix(cfg: Any) -> str:
    return ('model.architecture' if isinstance(
        get_key(cfg, 'model.architecture'), dict) else 'model')


def class_counts(cfg: Any) -> Dict[str, int]:
    """Every class count the config states, by config key."""
    prefix = _net_prefix(cfg)
    keys = ['search_space.num_classes',
            f'{prefix}.backbone.search_space.num_classes',
            f'{prefix}.backbone.num_classes', f'{prefix}.head.num_classes',
            'data_preprocessor.num_classes',
            f'{prefix}.data_preprocessor.num_classes']
    found = {k: get_key(cfg, k) for k in keys}
    for key in LOADER_KEYS:
        classes = get_key(cfg, f'{key}.dataset.metainfo.classes')
        if isinstance(classes, (list, tuple)):
            found[f'{key}.dataset.metainfo.classes (count)'] = len(classes)
    if isinstance(cfg.get('own_data'), dict):
        root = cfg.own_data.get('data_root')
        path = osp.join(str(root), 'meta', 'classes.txt')
        if root and osp.isfile(path):
            with open(path, encoding='utf-8') as f:
                found[f'{path} (lines)'] = sum(1 for ln in f if ln.strip())
    return {k: v for k, v in found.items() if isinstance(v, int)}


def check_classes(cfg: Any) -> Optional[int]:
    """The one class count of the config (None if it states none).

    Raises:
        RunConfigError: When two places disagree, listing all of them.
    """
    counts = class_counts(cfg)
    if len(set(counts.values())) > 1:
        listed = '\n  '.join(f'{k} = {v}' for k, v in counts.items())
        fix = ('set own_data.num_classes (or None to read meta/classes.txt)'
               if 'own_data' in cfg else
               'set every one of them to the number of classes of the data '
               '(--cfg-options key=N for each)')
        raise RunConfigError(
            f'the class counts of this config disagree:\n  {listed}\n'
            f'The space (its latency table entry of the classifier), the '
            f'head, the data preprocessor and the data must agree: {fix}')
    return next(iter(counts.values()), None)


def _evaluators(cfg: Any) -> Iterator[Tuple[str, Dict]]:
    for key in EVALUATOR_KEYS:
        value = cfg.get(key)
        items = value if isinstance(value, (list, tuple)) else [value]
        for index, item in enumerate(items):
            if isinstance(item, dict):
                yield (key if item is value else f'{key}.{index}'), item


def check_topk(cfg: Any, num_classes: int) -> None:
    """Raise if an evaluator (or a head with ``cal_acc``) asks for a top-k
    above the class count (mmcls's Accuracy fails at the first
    validation)."""
    wanted = topk_for(num_classes)
    places = [(k, e.get('topk')) for k, e in _evaluators(cfg)
              if str(e.get('type', '')).split('.')[-1] == 'Accuracy']
    head_key = f'{_net_prefix(cfg)}.head'
    head = get_key(cfg, head_key)
    if isinstance(head, dict) and head.get('cal_acc'):
        places.append((head_key, head.get('topk', (1, ))))
    for key, topk in places:
        ks = [topk] if isinstance(topk, int) else list(topk or (1, ))
        if max(ks) > num_classes:
            raise RunConfigError(
                f'{key}.topk = {tuple(ks)} asks for top-{max(ks)} of '
                f'{num_classes} classes (mmcls Accuracy would fail at the '
                f'first validation): set --cfg-options '
                f'"{key}.topk={wanted}"')


def pipeline_size(pipeline: Sequence[Any]) -> Tuple[bool, Optional[int]]:
    """``(known, size)``: the square size a pipeline's last size-setting
    transform gives (``(True, None)``: no transform sets it, the stored
    images reach the model; ``(False, None)``: unknown)."""
    size: Optional[int] = None
    for step in pipeline:
        kind = str(step.get('type', '')).split('.')[-1] if isinstance(
            step, dict) else ''
        if kind in _OTHER_SIZE_TRANSFORMS:
            return False, None
        arg = SIZE_ARGS.get(kind)
        if arg is None or arg not in step:
            continue
        value = step[arg]
        if isinstance(value, (list, tuple)):
            if len(set(value)) != 1:
                return False, None
            value = value[0]
        if not isinstance(value, int):
            return False, None
        size = value
    return True, size


def input_sizes(cfg: Any) -> Dict[str, int]:
    """Every input size the model's config states, by config key."""
    prefix = _net_prefix(cfg)
    keys = ('search_space.input_size',
            f'{prefix}.backbone.search_space.input_size',
            f'{prefix}.backbone.input_size')
    found = {k: get_key(cfg, k) for k in keys}
    return {k: v for k, v in found.items() if isinstance(v, int)}


def _image_paths(dataset: Dict) -> Optional[Tuple[str, List[str]]]:
    """``(ann_file, image paths)`` of a file-list dataset config (mmcls
    ``CustomDataset`` layout), None for other datasets."""
    ann = dataset.get('ann_file')
    if not ann:
        return None
    root = dataset.get('data_root') or ''
    prefix = dataset.get('data_prefix', '')
    if isinstance(prefix, dict):
        prefix = prefix.get('img_path', '')
    ann_path = ann if osp.isabs(ann) else osp.join(root, ann)
    folder = prefix if osp.isabs(prefix) else osp.join(root, prefix)
    return ann_path, [
        osp.join(folder, name) for name, _ in read_annotation(ann_path)
    ]


def check_image_sizes(cfg: Any, size: int, mode: str = 'header') -> None:
    """Raise unless every loader gives the model ``size`` x ``size`` images.

    A pipeline's size is its last crop / resize; without one, the stored
    images reach the model and their sizes are scanned (``mode``: see
    :data:`~densenas_mm.datasets.image_files.SIZE_SCANS`).
    """
    scanned: Dict[str, Dict[Tuple[int, int], List[str]]] = {}
    for key in LOADER_KEYS:
        dataset = get_key(cfg, f'{key}.dataset')
        if not isinstance(dataset, dict):
            continue
        known, out = pipeline_size(dataset.get('pipeline') or [])
        if not known:
            continue
        if out is not None:
            if out != size:
                raise RunConfigError(
                    f'{key}.dataset.pipeline crops / resizes to {out}x{out} '
                    f'but the model is built for {size}x{size} inputs: set '
                    f'the transform\'s size to {size} (with the own-data '
                    f'template: own_data.input_size={out} if {out} is right)')
            continue
        if mode == 'none':
            continue
        listed = _image_paths(dataset)
        if listed is None:
            continue
        ann_path, paths = listed
        if ann_path not in scanned:
            # missing / unreadable images: the dataset names them itself
            scanned[ann_path] = scan_sizes(
                paths, decode=mode == 'decode', strict=False)
        sizes = scanned[ann_path]
        wrong = {s: p for s, p in sizes.items() if s != (size, size)}
        if wrong:
            total = sum(len(p) for p in sizes.values())
            count = sum(len(p) for p in wrong.values())
            (w, h), examples = next(iter(wrong.items()))
            example = examples[0]
            common = '' if len(sizes) == len(wrong) else (
                f'; the others are {size}x{size}')
            raise RunConfigError(
                f'{count} of {total} images listed by {ann_path} ({key}) are '
                f'not {size}x{size}, the input size the model and its '
                f'latency table are built for (e.g. {example} is {w}x{h}'
                f'{common}). No transform of {key}.dataset.pipeline sets '
                f'the size, so they would reach the model as stored: '
                f'resize them to {size}x{size}, add dict(type=\'Resize\', '
                f'scale={size}) after LoadImageFromFile in the pipelines '
                f'(own-data template: its scale follows own_data.input_size'
                f'), or build the run for their size (own_data.input_size=N '
                f'and a latency table for it)')


def lut_facts(path: str) -> Tuple[Optional[int], List[int]]:
    """``(input size, classifier output counts)`` of a latency table: the
    stem entries' input size and the classifier entries' ``c_out``."""
    from densenas_mm.latency import LatencyTable
    from densenas_mm.latency.signature import OpSignature
    sigs = [OpSignature.from_key(k) for k in LatencyTable.load(path).entries]
    stems = [s.h for s in sigs if s.op.startswith('stem')]
    classes = sorted({s.c_out for s in sigs if s.op == 'classifier'})
    return (max(stems) if stems else None), classes


def check_latency_table(cfg: Any, size: Optional[int],
                        num_classes: Optional[int]) -> None:
    """Raise when the estimator's table was measured for another input size
    or class count than the space (a table that lacks entries for other
    reasons is reported by the estimator itself)."""
    lut = get_key(cfg, 'model.estimator.lut')
    if not isinstance(lut, str) or not osp.isfile(lut):
        return
    table_size, table_classes = lut_facts(lut)
    build = ('build a table for this run: python tools/build_latency_lut.py '
             'CONFIG --device DEVICE --batch-size 32 --out TABLE [--cfg-'
             'options as for training], then pass model.estimator.lut=TABLE')
    if size is not None and table_size is not None and table_size != size:
        raise RunConfigError(
            f'the latency table {lut} was measured for {table_size}x'
            f'{table_size} inputs but the search space is built for {size}x'
            f'{size}: {build}')
    if num_classes is not None and table_classes and (
            num_classes not in table_classes):
        raise RunConfigError(
            f'the latency table {lut} times a classifier for '
            f'{table_classes} classes but the space has {num_classes}: '
            f'{build}')


def check_run_config(cfg: Any) -> None:
    """All build-time checks of the module doc, on a merged, derived config.

    Raises:
        RunConfigError: For a disagreement (every key involved and the fix).
        DataError: For an unreadable annotation file or image.
    """
    num_classes = check_classes(cfg)
    if num_classes is not None:
        check_topk(cfg, num_classes)
    sizes = input_sizes(cfg)
    if len(set(sizes.values())) > 1:
        listed = ', '.join(f'{k} = {v}' for k, v in sizes.items())
        raise RunConfigError(
            f'the input sizes of this config disagree ({listed}); set them '
            'to one value (own-data template: own_data.input_size)')
    size = next(iter(sizes.values()), None)
    check_latency_table(cfg, size, num_classes)
    mode = cfg.get('check_image_sizes', 'header')
    if mode not in SIZE_SCANS:
        raise RunConfigError(f'check_image_sizes must be one of {SIZE_SCANS}'
                             f', got {mode!r}')
    if size is not None:
        check_image_sizes(cfg, size, mode)
