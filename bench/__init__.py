"""Benchmarks of the scale harness (issue 4): ``python -m bench`` / ``make bench``.

Each benchmark prints ``name: value`` lines and a ratio against a baseline measured in the same run
on the same data; results, machine description and target verdicts go to bench/RESULTS.md.
"""
