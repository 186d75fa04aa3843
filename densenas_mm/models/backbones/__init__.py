"""densenas_mm.models.backbones."""
