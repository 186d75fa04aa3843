"""The dataset tools' jobs: a class-folder split
(``tools/dataset/split_class_folders.py``) and the sizes and channel
statistics of an image list (``tools/dataset/image_stats.py``)."""
import os.path as osp
from typing import Dict, Optional, Sequence

from densenas_mm.datasets import (SubsetError, channel_stats,
                                  read_annotation, scan_sizes,
                                  split_class_folders)
from densenas_mm.utils.io import dump_json_atomic
from .cli import ToolOutput


def parse_parts(items: Sequence[str]) -> Dict[str, float]:
    """``['search_train=0.8', 'search_val=0.2']`` -> name -> fraction.

    Raises:
        SubsetError: For an item that is not ``NAME=FRACTION``.
    """
    parts: Dict[str, float] = {}
    for item in items:
        name, _, value = item.partition('=')
        try:
            parts[name] = float(value)
        except ValueError:
            raise SubsetError(f'--parts takes NAME=FRACTION items, got '
                              f'{item!r}') from None
    return parts


def split_folders(root: str,
                  out_dir: Optional[str] = None,
                  parts: Sequence[str] = (),
                  num_classes: Optional[int] = None,
                  seed: Optional[int] = None) -> ToolOutput:
    """Write the annotation lists of a class-folder dataset.

    Args:
        root (str): One folder per class.
        out_dir (str, optional): Where the lists go (default
            ``ROOT/meta``).
        parts (Sequence[str]): ``NAME=FRACTION`` items (default: the
            60 / 20 / 20 search_train / search_val / test split).
        num_classes (int, optional): Use this many classes.
        seed (int, optional): Class sample and per-class shuffles.

    Returns:
        ToolOutput: One line with the counts; the counts in ``result``.
    """
    out_dir = out_dir or osp.join(root, 'meta')
    counts = split_class_folders(
        root,
        out_dir,
        parts=parse_parts(parts) if parts else None,
        num_classes=num_classes,
        seed=seed)
    listed = ', '.join(f'{k}={v}' for k, v in counts.items())
    return ToolOutput(0, f'{root} -> {out_dir}: {listed} (+ classes.txt)',
                      result=counts)


def image_stats(root: str,
                ann_file: str,
                sizes_only: bool = False,
                json: Optional[str] = None) -> ToolOutput:
    """Sizes (header scan) and per-channel mean / std of the images an
    annotation list names.

    Args:
        root (str): The data root the list is relative to.
        ann_file (str): mmcls annotation list.
        sizes_only (bool): Skip the statistics (no decoding).
        json (str, optional): Also write the result here.

    Returns:
        ToolOutput: The report; ``sizes`` (``'WxH'`` -> count) and, unless
        ``sizes_only``, ``mean`` / ``std`` / ``pixels`` in ``result``.
    """
    paths = [osp.join(root, name) for name, _ in read_annotation(ann_file)]
    sizes = scan_sizes(paths)
    result = dict(sizes={f'{w}x{h}': len(p) for (w, h), p in sizes.items()})
    lines = ['sizes: ' + ', '.join(f'{k}: {n} images'
                                   for k, n in result['sizes'].items())]
    if not sizes_only:
        stats = channel_stats(paths)
        result.update(stats)
        lines.append(
            f'mean={stats["mean"]}, std={stats["std"]}  (RGB, 0..255, '
            f'{stats["pixels"]} pixels: a data_preprocessor with '
            'to_rgb=True, or own_data.mean / own_data.std)')
    if json:
        dump_json_atomic(result, json)
    return ToolOutput(0, '\n'.join(lines), result=result)
