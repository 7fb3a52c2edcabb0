"""Benchmarks: a plugin per dataset (source + split + task + score), found by name, the named
models, and the one runner that puts models on benchmarks as cells.

- :mod:`~cortexkit.benchmarks.definition`: what a benchmark is; the registry
- :mod:`~cortexkit.benchmarks.plugins`: one file per dataset or simulation
- :mod:`~cortexkit.benchmarks.models`: named models (one YAML file each, ``models/``)
- :mod:`~cortexkit.benchmarks.recordings`: the stores a benchmark reads, made once
- :mod:`~cortexkit.benchmarks.cells`: a model on a benchmark, fingerprinted, on disk
- :mod:`~cortexkit.benchmarks.tasks`: how each kind of model runs and is scored in a cell
- :mod:`~cortexkit.benchmarks.runner`: the runner (resumable, local or on Dask)
- :mod:`~cortexkit.benchmarks.table`, :mod:`~cortexkit.benchmarks.comparisons`: the views
"""

from cortexkit.benchmarks import plugins  # noqa: F401  (registration, in listing order)
from cortexkit.benchmarks.catalog import NOUNS, catalog
from cortexkit.benchmarks.cells import Cell, read_cells
from cortexkit.benchmarks.definition import BENCHMARKS, Benchmark, get_benchmark, metric_label
from cortexkit.benchmarks.models import ModelSpec, builtin_models, get_model, read_model
from cortexkit.benchmarks.runner import plan_cells, run_benchmarks
from cortexkit.benchmarks.table import matrix, read_results, read_table_view, write_tables

__all__ = ["BENCHMARKS", "NOUNS", "Benchmark", "Cell", "catalog", "ModelSpec", "builtin_models", "get_benchmark", "get_model", "matrix",
           "metric_label", "plan_cells", "read_cells", "read_model", "read_results", "read_table_view",
           "run_benchmarks", "write_tables"]
