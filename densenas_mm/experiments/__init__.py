"""Experiments: runs over the whole stack that know the repository layout."""
