"""Class subset of ImageNet split into search-train / search-val lists.

DenseNAS searches on 100 ImageNet classes: per class, 80 % of the training
images train the supernet weights and 20 % update the architecture. Both
parts come from the ImageNet *train* directory. :func:`make_imagenet_subset`
writes the two mmcls annotation files (``<class dir>/<file> <label>``,
relative to the train directory) and ``classes.txt``: one use of the
generic class-folder split (:mod:`.class_folders`).

Selection is deterministic: without a seed the first ``num_classes`` folders
in sorted order; with a seed a seeded random sample of the sorted folders
(listed, and labelled 0..N-1, in sorted order). Each class's sorted file list
is shuffled with a generator seeded by the seed and the class name, so a
class's split does not depend on which other classes were picked.
"""
from typing import Dict, Optional, Sequence

from .class_folders import (IMAGE_EXTENSIONS, SubsetError,
                            split_class_folders)

__all__ = ['IMAGE_EXTENSIONS', 'SubsetError', 'make_imagenet_subset']


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
        seed (int, optional): See
            :func:`~.class_folders.select_classes`. Defaults to None.
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
    return split_class_folders(
        train_dir,
        out_dir,
        parts=dict(search_train=split, search_val=1.0 - split),
        num_classes=num_classes,
        seed=seed,
        unions={},
        extensions=extensions,
        root_name='ImageNet train directory')
