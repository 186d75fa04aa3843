"""densenas_mm.structures."""
