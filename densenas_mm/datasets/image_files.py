"""Image sizes and channel statistics of image files, for the tools and the
build-time checks.

Sizes come from the file header (Pillow's lazy open reads the header and
stops), so scanning a dataset costs about one small read per image; a full
decode (OpenCV, as mmcv's ``LoadImageFromFile``) is done only on request.
"""
import os
from typing import Dict, List, Sequence, Tuple

import numpy as np

from .checks import DataError

#: How image sizes are read: ``'none'`` (not at all), ``'header'``,
#: ``'decode'``.
SIZE_SCANS = ('none', 'header', 'decode')


def image_size(path: str, decode: bool = False) -> Tuple[int, int]:
    """``(width, height)`` of an image file.

    Args:
        path (str): The image.
        decode (bool): Decode it (OpenCV) instead of reading the header.

    Raises:
        DataError: For a missing file or one that is not a readable image.
    """
    if not os.path.isfile(path):
        raise DataError(f'image {path!r} does not exist')
    if decode:
        import cv2
        data = np.fromfile(path, np.uint8)
        img = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
        if img is None:
            raise DataError(f'image {path!r} cannot be decoded')
        return int(img.shape[1]), int(img.shape[0])
    from PIL import Image, UnidentifiedImageError
    try:
        with Image.open(path) as img:
            return tuple(img.size)  # type: ignore[return-value]
    except (UnidentifiedImageError, OSError) as err:
        raise DataError(f'image {path!r} has no readable header: {err}'
                        ) from None


def scan_sizes(paths: Sequence[str],
               decode: bool = False,
               strict: bool = True) -> Dict[Tuple[int, int], List[str]]:
    """The images of ``paths`` grouped by ``(width, height)``, the most
    frequent size first.

    Args:
        paths (Sequence[str]): Image files.
        decode (bool): Decode every image instead of reading its header.
        strict (bool): Raise :class:`DataError` for a missing or unreadable
            file; False leaves it out (for a caller whose dataset reports
            such files itself, with its own message).
    """
    groups: Dict[Tuple[int, int], List[str]] = {}
    for path in paths:
        try:
            size = image_size(path, decode)
        except DataError:
            if strict:
                raise
            continue
        groups.setdefault(size, []).append(path)
    return dict(sorted(groups.items(), key=lambda kv: -len(kv[1])))


def channel_stats(paths: Sequence[str]) -> Dict[str, List[float]]:
    """Per-channel mean and standard deviation (0..255, RGB order) over
    every pixel of ``paths`` (decoded as mmcv does, then BGR -> RGB).

    Returns:
        dict: ``mean``, ``std`` (lists of 3 floats) and ``pixels``.

    Raises:
        DataError: For no images or one that cannot be decoded.
    """
    import cv2
    if not paths:
        raise DataError('no images to compute statistics of')
    total = np.zeros(3)
    total_sq = np.zeros(3)
    pixels = 0
    for path in paths:
        img = cv2.imdecode(np.fromfile(path, np.uint8), cv2.IMREAD_COLOR)
        if img is None:
            raise DataError(f'image {path!r} cannot be decoded')
        flat = img[..., ::-1].reshape(-1, 3).astype(np.float64)
        total += flat.sum(0)
        total_sq += (flat**2).sum(0)
        pixels += flat.shape[0]
    mean = total / pixels
    std = np.sqrt(np.maximum(total_sq / pixels - mean**2, 0.0))
    return dict(mean=[round(float(m), 3) for m in mean],
                std=[round(float(s), 3) for s in std], pixels=pixels)
