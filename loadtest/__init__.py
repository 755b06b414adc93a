"""Load and fault harness (issue 4, items 4 and 5): ``python -m loadtest`` (``make loadtest``)."""
