"""densenas_mm.engine.hooks."""
