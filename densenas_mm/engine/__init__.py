"""densenas_mm.engine."""
