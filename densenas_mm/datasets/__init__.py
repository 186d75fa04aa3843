"""densenas_mm.datasets: demo data, ImageNet subset preparation, and the
seeded sampler / dataset wrapper that make augmentation resumable."""
from .demo_data import (DemoData, build_demo_data, expected_counts,
                        verify_demo_data)
from .imagenet_subset import SubsetError, make_imagenet_subset
from .seeded import SampleKey, SeededDataset, SeededSampler

__all__ = [
    'DemoData', 'build_demo_data', 'expected_counts', 'verify_demo_data',
    'SubsetError', 'make_imagenet_subset', 'SampleKey', 'SeededDataset',
    'SeededSampler'
]
