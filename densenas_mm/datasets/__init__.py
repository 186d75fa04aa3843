"""densenas_mm.datasets."""
