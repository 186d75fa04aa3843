"""Class subset of ImageNet split into search-train / search-val lists.

DenseNAS searches on 100 ImageNet classes: per class, 80 % of the training
images train the supernet weights and 20 % update the architecture. Both
parts come from the ImageNet *train* directory. :func:`make_imagenet_subset`
writes the two mmcls annotation files (``<class dir>/<file> <label>``,
relative to the train directory) and ``classes.txt``.

Selection is deterministic: without a seed the first ``num_classes`` folders
in sorted order; with a seed a seeded random sample of the sorted folders
(listed, and labelled 0..N-1, in sorted order). Each class's sorted file list
is shuffled with a generator seeded by the seed and the class name, so a
class's split does not depend on which other classes were picked.
"""
import os
import os.path as osp
import random
from typing import Dict, List, Optional, Sequence

from densenas_mm.utils.io import prepare_output_dir, write_text_atomic

IMAGE_EXTENSIONS = ('.jpeg', '.jpg', '.png', '.bmp', '.ppm', '.pgm', '.tif')


class SubsetError(ValueError):
    """The ImageNet tree cannot give the requested subset."""


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
                   num_classes: int,
                   seed: Optional[int] = None) -> List[str]:
    """Pick ``num_classes`` names from ``class_dirs`` deterministically.

    Args:
        class_dirs (Sequence[str]): Candidate class folder names.
        num_classes (int): How many to pick.
        seed (int, optional): None picks the first names in sorted order;
            an int picks a seeded random sample of the sorted names.

    Returns:
        list[str]: The picked names, sorted.
    """
    names = sorted(class_dirs)
    if num_classes < 1:
        raise SubsetError(f'num_classes must be >= 1, got {num_classes}')
    if len(names) < num_classes:
        raise SubsetError(f'found {len(names)} class folders, but '
                          f'{num_classes} classes were requested')
    if seed is None:
        return names[:num_classes]
    return sorted(random.Random(seed).sample(names, num_classes))


def split_files(files: Sequence[str], split: float, seed: Optional[int],
                class_name: str) -> Dict[str, List[str]]:
    """Split one class's files into search-train and search-val.

    Args:
        files (Sequence[str]): File names of the class.
        split (float): Fraction for search-train, in (0, 1).
        seed (int, optional): Seed (None behaves as 0).
        class_name (str): Mixed into the seed of this class's shuffle.

    Returns:
        dict[str, list[str]]: ``search_train`` and ``search_val`` names,
        each sorted; both non-empty.
    """
    ordered = sorted(files)
    random.Random(f'{0 if seed is None else seed}:{class_name}').shuffle(
        ordered)
    n_train = min(max(int(split * len(ordered)), 1), len(ordered) - 1)
    return dict(
        search_train=sorted(ordered[:n_train]),
        search_val=sorted(ordered[n_train:]))


def _atomic_write(path: str, lines: Sequence[str]) -> None:
    write_text_atomic(''.join(line + '\n' for line in lines), path)


def make_imagenet_subset(train_dir: str,
                         out_dir: str,
                         num_classes: int = 100,
                         seed: Optional[int] = None,
                         split: float = 0.8,
                         extensions: Sequence[str] = IMAGE_EXTENSIONS
                         ) -> Dict[str, int]:
    """Write ``search_train.txt``, ``search_val.txt`` and ``classes.txt``.

    Args:
        train_dir (str): ImageNet train directory (one folder per class).
        out_dir (str): Where to write the three files (created if needed).
        num_classes (int): Number of classes. Defaults to 100.
        seed (int, optional): See :func:`select_classes`. Defaults to None.
        split (float): Search-train fraction per class. Defaults to 0.8.
        extensions (Sequence[str]): Image file extensions (any case).

    Returns:
        dict[str, int]: Sample counts of ``search_train`` / ``search_val``.

    Raises:
        SubsetError: Missing or unreadable directories, fewer class folders
            than ``num_classes``, a class with fewer than 2 images, or an
            ``out_dir`` that is an existing file.
    """
    if not 0.0 < split < 1.0:
        raise SubsetError(f'split must be in (0, 1), got {split}')
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise SubsetError(f'--out-dir {out_dir!r} is an existing file, not a '
                          'directory; pass a directory (created if missing)')
    exts = tuple(e.lower() for e in extensions)
    entries = _listdir(train_dir, 'ImageNet train directory')
    class_dirs = [
        e for e in entries
        if not e.startswith('.') and osp.isdir(osp.join(train_dir, e))
    ]
    classes = select_classes(class_dirs, num_classes, seed)
    lines: Dict[str, List[str]] = dict(search_train=[], search_val=[])
    for label, name in enumerate(classes):
        class_dir = osp.join(train_dir, name)
        files = [
            f for f in _listdir(class_dir, 'class folder')
            if f.lower().endswith(exts) and osp.isfile(osp.join(class_dir, f))
        ]
        if len(files) < 2:
            raise SubsetError(
                f'class folder {class_dir!r} has {len(files)} image(s); '
                'at least 2 are needed to give both search-train and '
                'search-val one image')
        for part, names in split_files(files, split, seed, name).items():
            lines[part] += [f'{name}/{f} {label}' for f in names]
    prepare_output_dir(out_dir, '--out-dir')
    for part, part_lines in lines.items():
        _atomic_write(osp.join(out_dir, f'{part}.txt'), part_lines)
    _atomic_write(osp.join(out_dir, 'classes.txt'), classes)
    return {part: len(part_lines) for part, part_lines in lines.items()}
