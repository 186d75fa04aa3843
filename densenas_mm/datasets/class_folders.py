"""Stratified, seeded splits of a class-folder image dataset into mmcls
annotation lists.

Any dataset stored as one folder per class (``ROOT/<class>/<image>``: your
own images, ImageNet's ``train/``) becomes lists of ``<class>/<file>
<label>`` lines, relative to ``ROOT`` (the config's ``data_root``), one
file per named part (``search_train.txt``, ``search_val.txt``,
``test.txt``, ...), plus ``classes.txt`` (one name a line, labels
0..N-1 in sorted order) and unions of parts (``train.txt`` =
search-train + search-val, what a derived net is retrained on).

Hidden folders, the output folder (``ROOT/meta``, the default of
``tools/dataset/split_class_folders.py``) and folders holding a
``classes.txt`` (lists written before) are not classes. Every class is
split with the same fractions (stratified), each part
getting at least one image of every class. The classes: all folders, or
``num_classes`` of them (the first in sorted order, or a seeded sample).
Each class's sorted file list is shuffled with a generator seeded by the
seed and the class name, so a class's split does not depend on which other
classes were picked. The ImageNet-100 search split
(:func:`~.imagenet_subset.make_imagenet_subset`) is one use of it.
"""
import os
import os.path as osp
import random
from typing import Dict, List, Mapping, Optional, Sequence

from densenas_mm.utils.io import prepare_output_dir, write_text_atomic

IMAGE_EXTENSIONS = ('.jpeg', '.jpg', '.png', '.bmp', '.ppm', '.pgm', '.tif',
                    '.tiff', '.webp')
#: The demo's parts: 60 / 20 / 20 per class.
DEFAULT_PARTS = dict(search_train=0.6, search_val=0.2, test=0.2)
#: Unions written when their parts exist: retraining reads train.txt.
DEFAULT_UNIONS = dict(train=('search_train', 'search_val'))


class SubsetError(ValueError):
    """The class folders cannot give the requested split."""


def _listdir(path: str, what: str) -> List[str]:
    if not osp.isdir(path):
        raise SubsetError(f'{what} {path!r} does not exist or is not a '
                          'directory')
    if not os.access(path, os.R_OK | os.X_OK):
        raise SubsetError(f'{what} {path!r} is not readable')
    try:
        return sorted(os.listdir(path))
    except OSError as e:
        raise SubsetError(f'cannot list {what} {path!r}: {e}') from e


def select_classes(class_dirs: Sequence[str],
                   num_classes: Optional[int],
                   seed: Optional[int] = None) -> List[str]:
    """Pick ``num_classes`` names from ``class_dirs`` deterministically.

    Args:
        class_dirs (Sequence[str]): Candidate class folder names.
        num_classes (int, optional): How many to pick (None: all).
        seed (int, optional): None picks the first names in sorted order;
            an int picks a seeded random sample of the sorted names.

    Returns:
        list[str]: The picked names, sorted.
    """
    names = sorted(class_dirs)
    if num_classes is None:
        if not names:
            raise SubsetError('found no class folders')
        return names
    if num_classes < 1:
        raise SubsetError(f'num_classes must be >= 1, got {num_classes}')
    if len(names) < num_classes:
        raise SubsetError(f'found {len(names)} class folders, but '
                          f'{num_classes} classes were requested')
    if seed is None:
        return names[:num_classes]
    return sorted(random.Random(seed).sample(names, num_classes))


def check_parts(parts: Mapping[str, float]) -> None:
    """Raise unless ``parts`` are >= 1 named fractions in (0, 1) summing
    to 1."""
    if not parts:
        raise SubsetError('give at least one part, e.g. search_train=0.8 '
                          'search_val=0.2')
    bad = {k: v for k, v in parts.items() if not 0.0 < v <= 1.0}
    if bad:
        raise SubsetError(f'part fractions must be in (0, 1], got {bad}')
    if abs(sum(parts.values()) - 1.0) > 1e-6:
        raise SubsetError(f'part fractions must sum to 1, got {dict(parts)} '
                          f'(sum {sum(parts.values()):g})')


def split_files(files: Sequence[str], parts: Mapping[str, float],
                seed: Optional[int], class_name: str) -> Dict[str, List[str]]:
    """Split one class's files into ``parts`` (name -> fraction).

    Part ``i`` ends at ``int(cumulative fraction * n)`` files, moved so
    that every part keeps at least one file.

    Args:
        files (Sequence[str]): File names of the class (>= one per part).
        parts (Mapping[str, float]): Fractions, in order, summing to 1.
        seed (int, optional): Seed (None behaves as 0).
        class_name (str): Mixed into the seed of this class's shuffle.

    Returns:
        dict[str, list[str]]: Each part's names, sorted, all non-empty.
    """
    ordered = sorted(files)
    random.Random(f'{0 if seed is None else seed}:{class_name}').shuffle(
        ordered)
    n, k = len(ordered), len(parts)
    out: Dict[str, List[str]] = {}
    start, cumulative = 0, 0.0
    for index, (name, fraction) in enumerate(parts.items(), start=1):
        cumulative += fraction
        end = n if index == k else min(
            max(int(cumulative * n), start + 1), n - (k - index))
        out[name] = sorted(ordered[start:end])
        start = end
    return out


def _class_files(class_dir: str, extensions: Sequence[str],
                 needed: int, parts: Sequence[str]) -> List[str]:
    exts = tuple(e.lower() for e in extensions)
    files = [
        f for f in _listdir(class_dir, 'class folder')
        if f.lower().endswith(exts) and osp.isfile(osp.join(class_dir, f))
    ]
    if len(files) < needed:
        raise SubsetError(
            f'class folder {class_dir!r} has {len(files)} image(s); at '
            f'least {needed} are needed to give each part '
            f'({", ".join(parts)}) one image')
    return files


def split_class_folders(root: str,
                        out_dir: str,
                        parts: Optional[Mapping[str, float]] = None,
                        num_classes: Optional[int] = None,
                        seed: Optional[int] = None,
                        unions: Optional[Mapping[str, Sequence[str]]] = None,
                        extensions: Sequence[str] = IMAGE_EXTENSIONS,
                        root_name: str = 'image folder') -> Dict[str, int]:
    """Write one annotation list per part and union, and ``classes.txt``.

    Args:
        root (str): One folder per class; list paths are relative to it.
        out_dir (str): Where to write the lists (created if needed).
        parts (Mapping[str, float], optional): Part name -> fraction of
            every class (default :data:`DEFAULT_PARTS`).
        num_classes (int, optional): Use this many classes (default all);
            see :func:`select_classes`.
        seed (int, optional): Class sample (with ``num_classes``) and the
            per-class shuffles (None behaves as 0 for the shuffles).
        unions (Mapping[str, Sequence[str]], optional): Extra lists made of
            parts (default :data:`DEFAULT_UNIONS`, where its parts exist).
        extensions (Sequence[str]): Image file extensions (any case).
        root_name (str): What ``root`` is, for messages.

    Returns:
        dict[str, int]: Line counts of every list written (parts, unions).

    Raises:
        SubsetError: Missing or unreadable folders, too few class folders or
            images, bad fractions, or an ``out_dir`` that is a file.
    """
    parts = dict(DEFAULT_PARTS if parts is None else parts)
    check_parts(parts)
    if unions is None:
        unions = {k: v for k, v in DEFAULT_UNIONS.items()
                  if all(p in parts for p in v)}
    for name, members in unions.items():
        unknown = [p for p in members if p not in parts]
        if unknown or name in parts:
            raise SubsetError(f'union {name!r} must combine existing parts '
                              f'{sorted(parts)} under a new name, got '
                              f'{list(members)}')
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise SubsetError(f'--out-dir {out_dir!r} is an existing file, not a '
                          'directory; pass a directory (created if missing)')
    # the lists may be written inside root (ROOT/meta): not a class
    out_real = osp.realpath(out_dir)
    class_dirs = [
        e for e in _listdir(root, root_name)
        if not e.startswith('.') and osp.isdir(osp.join(root, e))
        and osp.realpath(osp.join(root, e)) != out_real
        and not osp.isfile(osp.join(root, e, 'classes.txt'))
    ]
    classes = select_classes(class_dirs, num_classes, seed)
    lines: Dict[str, List[str]] = {name: [] for name in parts}
    for label, name in enumerate(classes):
        files = _class_files(osp.join(root, name), extensions, len(parts),
                             list(parts))
        for part, names in split_files(files, parts, seed, name).items():
            lines[part] += [f'{name}/{f} {label}' for f in names]
    for name, members in unions.items():
        lines[name] = [line for part in members for line in lines[part]]
    prepare_output_dir(out_dir, '--out-dir')
    for part, part_lines in lines.items():
        write_text_atomic(''.join(f'{ln}\n' for ln in part_lines),
                          osp.join(out_dir, f'{part}.txt'))
    write_text_atomic(''.join(f'{c}\n' for c in classes),
                      osp.join(out_dir, 'classes.txt'))
    return {part: len(part_lines) for part, part_lines in lines.items()}
