"""Fixtures for model tests."""
import pytest
import torch
from helpers.builders import build_pair

from densenas_mm.search_space import load_preset


@pytest.fixture
def demo_space():
    return load_preset('densenas_demo_32')


@pytest.fixture
def demo_pair(demo_space):
    torch.manual_seed(0)
    return build_pair(demo_space)
