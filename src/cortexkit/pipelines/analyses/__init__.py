"""The analyses the seed papers are known for, each a function that reads a store, fits what it
needs on the training stimuli, scores on the test stimuli and writes tables into a new folder:

- :mod:`~cortexkit.pipelines.analyses.partition`: variance partitioning over 2-4 feature spaces
"""

from cortexkit.pipelines.analyses.partition import partition, run_partition

__all__ = ["partition", "run_partition"]
