"""densenas_mm.models.mutators."""
