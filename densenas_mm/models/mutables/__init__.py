"""densenas_mm.models.mutables."""
