"""Benchmarks: a plugin per dataset (source + split + feature spaces + score), found by name.

Importing this package registers every benchmark; ``cortexkit bench`` lists them.
"""

from cortexkit.benchmarks import cowley2023_v4, allen_ns118  # noqa: F401  (registration, in listing order)
from cortexkit.benchmarks.base import BENCHMARKS, Benchmark, get_benchmark, run_benchmark

__all__ = ["BENCHMARKS", "Benchmark", "get_benchmark", "run_benchmark"]
