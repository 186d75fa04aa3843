"""The error of an inconsistent search space (a leaf of the package)."""


class SearchSpaceError(ValueError):
    """Raised for an inconsistent search-space specification."""
