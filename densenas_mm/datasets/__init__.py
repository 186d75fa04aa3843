"""densenas_mm.datasets: demo data and ImageNet subset preparation."""
from .demo_data import (DemoData, build_demo_data, expected_counts,
                        verify_demo_data)
from .imagenet_subset import SubsetError, make_imagenet_subset

__all__ = [
    'DemoData', 'build_demo_data', 'expected_counts', 'verify_demo_data',
    'SubsetError', 'make_imagenet_subset'
]
