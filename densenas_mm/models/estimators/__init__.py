"""densenas_mm.models.estimators."""
