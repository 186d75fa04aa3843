"""Fixtures of the calibration and level job tests."""
import shutil

import pytest

from helpers.fake_latency import DEMO_LUT, fake_measure


@pytest.fixture
def fake_timing(monkeypatch):
    """Whole nets 'measure' exactly TRUTH's model of their LUT sum."""
    return fake_measure(monkeypatch)


@pytest.fixture
def demo_lut(tmp_path):
    """A copy of the recorded demo table, free to calibrate."""
    path = tmp_path / 'demo.json'
    shutil.copy(DEMO_LUT, path)
    return str(path)
