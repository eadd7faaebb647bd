"""A benchmark of the pages people wait for: ``python -m bench`` (see README.md)."""
