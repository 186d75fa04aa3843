"""Load-time checks of image-list datasets: annotation files and images.

A dataset with an empty or malformed annotation file, a label outside the
classes, or a missing, empty, truncated or undecodable image is refused when
it is built, with the file, the line and what is wrong, instead of
``need at least one array to concatenate`` or a failure in the middle of an
epoch. :class:`~.checked_dataset.CheckedCustomDataset` runs these checks;
they are plain functions (no mmcls) so the tools can use them too.
"""
import os
import warnings
from typing import List, Optional, Sequence, Tuple

#: How thoroughly images are checked at build time.
IMAGE_CHECKS = ('none', 'exists', 'header', 'decode')

# leading bytes of the formats OpenCV / Pillow read
_SIGNATURES: Tuple[Tuple[bytes, str], ...] = (
    (b'\xff\xd8\xff', 'jpeg'), (b'\x89PNG\r\n\x1a\n', 'png'), (b'BM', 'bmp'),
    (b'GIF87a', 'gif'), (b'GIF89a', 'gif'), (b'II*\x00', 'tiff'),
    (b'MM\x00*', 'tiff'), (b'RIFF', 'webp'), (b'P2', 'pnm'), (b'P3', 'pnm'),
    (b'P5', 'pnm'), (b'P6', 'pnm'))
_TAIL = 2048  # bytes searched for the end marker of a JPEG / PNG


class DataError(ValueError):
    """A dataset's annotation file or images cannot be used."""


class DataWarning(UserWarning):
    """Data that can be used but is almost certainly not what was meant
    (every sample of one class)."""


def warn_single_class(labels: Sequence[int], source: str) -> bool:
    """Warn when every label is the same (a model trained on it reports
    100% accuracy and learns nothing).

    Args:
        labels (Sequence[int]): The samples' labels.
        source (str): What lists them, for the message.

    Returns:
        bool: Whether it warned.
    """
    distinct = set(int(label) for label in labels)
    if len(labels) < 2 or len(distinct) != 1:
        return False
    warnings.warn(
        f'all {len(labels)} labels of {source} are class {distinct.pop()}: '
        'a classifier trained on it learns nothing and scores 100% top-1. '
        'Check the label column of the annotation file (or the folder '
        'layout)',
        DataWarning,
        stacklevel=3)
    return True


def image_format(head: bytes) -> Optional[str]:
    """The format of an image from its first bytes (None: unknown)."""
    for magic, name in _SIGNATURES:
        if head.startswith(magic):
            if name == 'webp' and head[8:12] != b'WEBP':
                return None
            return name
    return None


def image_problem(path: str, mode: str = 'header') -> Optional[str]:
    """What is wrong with the image at ``path`` (None: nothing found).

    Args:
        path (str): The image file.
        mode (str): ``'exists'`` (a non-empty file), ``'header'`` (also a
            known image signature and, for JPEG / PNG, the end marker, so a
            truncated file is found without decoding it) or ``'decode'``
            (also decoded with OpenCV).
    """
    if mode not in IMAGE_CHECKS:
        raise ValueError(f'check_images must be one of {IMAGE_CHECKS}, got '
                         f'{mode!r}')
    if mode == 'none':
        return None
    if not os.path.isfile(path):
        return 'missing'
    size = os.path.getsize(path)
    if size == 0:
        return 'empty (0 bytes)'
    if mode == 'exists':
        return None
    with open(path, 'rb') as f:
        head = f.read(16)
        f.seek(max(size - _TAIL, 0))
        tail = f.read()
    fmt = image_format(head)
    if fmt is None:
        return f'not an image (starts with {head[:8]!r})'
    if fmt == 'jpeg' and b'\xff\xd9' not in tail:
        return 'truncated JPEG (no end-of-image marker)'
    if fmt == 'png' and b'IEND' not in tail[-12:]:
        return 'truncated PNG (no IEND chunk)'
    if mode == 'decode':
        import cv2
        import numpy as np
        with open(path, 'rb') as f:
            data = np.frombuffer(f.read(), np.uint8)
        if cv2.imdecode(data, cv2.IMREAD_UNCHANGED) is None:
            return f'cannot be decoded as {fmt}'
    return None


def read_annotation(path: str,
                    num_classes: Optional[int] = None
                    ) -> List[Tuple[str, int]]:
    """Parse an mmcls annotation file (``relative/path.png LABEL`` lines).

    Args:
        path (str): The annotation file.
        num_classes (int, optional): Labels must be in ``[0, num_classes)``.

    Returns:
        list[tuple[str, int]]: ``(file, label)`` per non-blank line.

    Raises:
        DataError: For a missing or empty file, a malformed line or a label
            out of range, naming the file and the line.
    """
    if not os.path.isfile(path):
        raise DataError(f'annotation file {path!r} does not exist; check '
                        'data_root / ann_file in the config')
    samples = []
    with open(path, encoding='utf-8') as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            parts = line.strip().rsplit(' ', 1)
            label = parts[1] if len(parts) == 2 else ''
            if not label.lstrip('-').isdigit():
                raise DataError(
                    f'{path}, line {number}: expected "relative/path LABEL" '
                    f'with an integer label, got {line.strip()!r}')
            value = int(label)
            if value < 0 or (num_classes is not None and value >= num_classes):
                allowed = (f'0..{num_classes - 1}'
                           if num_classes is not None else '>= 0')
                raise DataError(f'{path}, line {number}: label {value} is out '
                                f'of range (the dataset has {num_classes} '
                                f'classes: {allowed})')
            samples.append((parts[0], value))
    if not samples:
        raise DataError(
            f'annotation file {path!r} lists no samples (it is empty). '
            'Regenerate it (tools/dataset/make_demo_data.py --force or '
            'tools/dataset/make_imagenet_subset.py) or point ann_file at '
            'the right list')
    return samples


def check_images(paths: Sequence[str], mode: str, source: str,
                 show: int = 10) -> None:
    """Raise :class:`DataError` listing the images with a problem.

    Args:
        paths (Sequence[str]): Image files.
        mode (str): See :func:`image_problem`.
        source (str): What lists them (the annotation file), for messages.
        show (int): How many bad images the message names.
    """
    if mode == 'none':
        return
    bad = []
    for path in paths:
        problem = image_problem(path, mode)
        if problem is not None:
            bad.append(f'{path}: {problem}')
    if bad:
        more = f'\n  ... and {len(bad) - show} more' if len(bad) > show \
            else ''
        listed = '\n  '.join(bad[:show])
        raise DataError(
            f'{len(bad)} of {len(paths)} images listed by {source} cannot be '
            f'used (check_images={mode!r}):\n  {listed}{more}\nReplace or '
            'remove them (and their lines), or rebuild the dataset')
