"""densenas_mm.models."""
