"""An mmcls ``CustomDataset`` that checks its files when it is built."""
from typing import Any, List

from mmcls.datasets import CustomDataset
from mmengine.fileio import get_file_backend

from densenas_mm.registry import DATASETS
from .checks import (IMAGE_CHECKS, DataError, check_images, image_problem,
                     read_annotation, warn_single_class)


@DATASETS.register_module()
class CheckedCustomDataset(CustomDataset):
    """``CustomDataset`` whose annotation file and images are checked at
    build time (see :mod:`densenas_mm.datasets.checks`).

    Refused with a message naming the file (and line): a missing or empty
    annotation file, a malformed line, a label outside the classes, and --
    depending on ``check_images`` -- missing, empty, truncated or
    undecodable images. A dataset whose samples all have one label builds
    with a :class:`~.checks.DataWarning`. An image whose header is fine but
    whose data is corrupt (found up front only with ``'decode'``) fails
    when it is first read, with a :class:`~.checks.DataError` naming it
    instead of the pipeline's error. Otherwise it is ``CustomDataset``
    unchanged.

    Args:
        check_images (str): ``'none'``, ``'exists'`` (non-empty files),
            ``'header'`` (also the image signature and the JPEG / PNG end
            marker: finds truncated files without decoding; the default) or
            ``'decode'`` (also decodes every image; for small datasets).
        **kwargs: ``CustomDataset`` arguments.
    """

    def __init__(self, *args, check_images: str = 'header', **kwargs) -> None:
        if check_images not in IMAGE_CHECKS:
            raise DataError(f'check_images must be one of {IMAGE_CHECKS}, '
                            f'got {check_images!r}')
        self.check_images = check_images
        super().__init__(*args, **kwargs)

    def load_data_list(self) -> List[dict]:
        """Read the samples (checked), then check their images."""
        if not self.ann_file:
            data_list = super().load_data_list()
            source = f'the folders of {self.img_prefix!r}'
        else:
            classes = self.CLASSES
            samples = read_annotation(
                self.ann_file, len(classes) if classes is not None else None)
            backend = get_file_backend(self.img_prefix, enable_singleton=True)
            data_list = [
                dict(img_path=backend.join_path(self.img_prefix, name),
                     gt_label=label) for name, label in samples
            ]
            source = repr(self.ann_file)
        if '://' not in str(self.img_prefix):  # local files only
            check_images([d['img_path'] for d in data_list],
                         self.check_images, source)
        warn_single_class([d['gt_label'] for d in data_list], source)
        return data_list

    def prepare_data(self, idx: int) -> Any:
        """The pipeline's output for sample ``idx``; a failure caused by
        the sample's image (corrupt data behind a valid header) is a
        :class:`~.checks.DataError` naming the file."""
        try:
            return super().prepare_data(idx)
        except Exception as err:  # noqa: B902 (any transform may fail)
            path = self.get_data_info(idx).get('img_path')
            problem = (image_problem(path, 'decode')
                       if path and '://' not in str(path) else None)
            if problem is None:
                raise
            raise DataError(
                f'image {path!r} (sample {idx} of {self.ann_file!r}) '
                f'{problem}: its data is damaged although its header looked '
                'fine. Replace or remove it (and its line); '
                "check_images='decode' on the dataset checks every image "
                'when the dataset is built') from err
