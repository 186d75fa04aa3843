"""densenas_mm.models.algorithms."""
