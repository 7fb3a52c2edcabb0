"""How each kind of model is run and scored in a cell: ``RUNNERS[kind](cell, log) -> (result,
items, arrays)`` (see :mod:`cortexkit.benchmarks.cells` for what they hold)."""

from cortexkit.benchmarks.tasks.decoding import decoding_cell
from cortexkit.benchmarks.tasks.encoding import published_cell, ridge_cell, trained_cell
from cortexkit.benchmarks.tasks.reconstruction import reconstruction_cell

RUNNERS = {"ridge": ridge_cell, "trained": trained_cell, "published": published_cell, "reconstruction": reconstruction_cell,
           "parameter_decoding": decoding_cell}

__all__ = ["RUNNERS"]
