"""densenas_mm.datasets: demo data (Fashion-MNIST, digits), class-folder
splits (your own data, the ImageNet subset), image sizes and statistics,
load-time checks of image lists, and the seeded sampler / dataset wrapper
that make augmentation resumable.

``CheckedCustomDataset`` (:mod:`.checked_dataset`) and
``FashionMNISTSplit`` (:mod:`.fashion_mnist`), registered in the
``densenas_mm`` scope, import mmcls and are not imported here, so the demo
data tools stay light; the registry imports them on first use.
"""
from .checks import DataError, check_images, image_problem, read_annotation
from .class_folders import split_class_folders
from .demo_data import (DemoData, build_demo_data, expected_counts,
                        verify_demo_data)
from .image_files import channel_stats, image_size, scan_sizes
from .imagenet_subset import SubsetError, make_imagenet_subset
from .seeded import SampleKey, SeededDataset, SeededSampler

__all__ = [
    'DemoData', 'build_demo_data', 'expected_counts', 'verify_demo_data',
    'SubsetError', 'make_imagenet_subset', 'DataError', 'check_images',
    'image_problem', 'read_annotation', 'SampleKey', 'SeededDataset',
    'SeededSampler', 'split_class_folders', 'channel_stats', 'image_size',
    'scan_sizes'
]
