"""densenas_mm.engine.runner."""
