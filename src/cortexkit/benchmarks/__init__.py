"""Benchmarks: a plugin per dataset (source + split + task + score), found by name, and the
leaderboard that runs every named model on every benchmark of its task.

Importing this package registers every benchmark; ``cortexkit bench`` lists them and
``cortexkit leaderboard models`` the models.
"""

from cortexkit.benchmarks import (  # noqa: F401  (registration, in listing order)
    cowley2023_v4, cowley2023_v4_reconstruction, allen_ns118, goris2015, gold_mt, simulated,
)
from cortexkit.benchmarks.base import BENCHMARKS, Benchmark, get_benchmark, run_benchmark
from cortexkit.benchmarks.leaderboard import matrix, read_leaderboard, run_leaderboard
from cortexkit.benchmarks.model_specs import ModelSpec, builtin_models, get_model

__all__ = ["BENCHMARKS", "Benchmark", "ModelSpec", "builtin_models", "get_benchmark", "get_model", "matrix",
           "read_leaderboard", "run_benchmark", "run_leaderboard"]
