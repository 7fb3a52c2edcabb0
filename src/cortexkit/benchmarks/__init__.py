"""Runs that turn a dataset and model settings into tidy result tables."""

from cortexkit.benchmarks.config import EncodingConfig, FeatureSpec, RidgeSpec
from cortexkit.benchmarks.registry import BENCHMARKS, get_benchmark, run_benchmark
from cortexkit.benchmarks.runner import evaluate_run, fit_feature_space, fit_run, score_predictions, summarize

__all__ = [
    "BENCHMARKS",
    "get_benchmark",
    "run_benchmark",
    "EncodingConfig",
    "FeatureSpec",
    "RidgeSpec",
    "fit_run",
    "evaluate_run",
    "fit_feature_space",
    "score_predictions",
    "summarize",
]
