"""densenas_mm.datasets: demo data (Fashion-MNIST, digits) and the
ImageNet subset split."""
from .demo_data import (DemoData, build_demo_data, expected_counts,
                        verify_demo_data)
from .fashion_mnist import (FASHION_MNIST_CLASSES, FASHION_MNIST_ROOT,
                            FashionMNISTSplit, IdxError, read_idx)
from .imagenet_subset import SubsetError, make_imagenet_subset

__all__ = [
    'DemoData', 'build_demo_data', 'expected_counts', 'verify_demo_data',
    'SubsetError', 'make_imagenet_subset', 'FashionMNISTSplit', 'IdxError',
    'read_idx', 'FASHION_MNIST_ROOT', 'FASHION_MNIST_CLASSES'
]
