"""Benchmarks: a plugin per dataset (source + split + feature spaces + score), found by name.

Importing this package registers every benchmark; ``cortexkit bench`` lists them.
"""

from cortexkit.benchmarks import (  # noqa: F401  (registration, in listing order)
    cowley2023_v4, cowley2023_v4_reconstruction, allen_ns118, goris2015, gold_mt, simulated,
)
from cortexkit.benchmarks.base import BENCHMARKS, Benchmark, get_benchmark, run_benchmark

__all__ = ["BENCHMARKS", "Benchmark", "get_benchmark", "run_benchmark"]
