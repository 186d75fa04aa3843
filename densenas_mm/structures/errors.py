"""The error of a malformed or misplaced architecture (a leaf module)."""


class ArchError(ValueError):
    """Raised for an architecture that is malformed, inconsistent, or does
    not belong to the search space it is used with."""
