"""Readers: turn each source format into the cortexkit data model.

``cortexkit data convert SRC DST.zarr --format NAME`` (or :func:`cortexkit.data.convert`) runs one.
Importing this package registers every reader.
"""

from cortexkit.data.readers import allen_boc_ns118, allen_nwb, brainscore, cowley2023, gold_mt, goris2015, nsd, nwb, sensorium2023, stsbench  # noqa: F401  (registration)
from cortexkit.data.readers.registry import READERS, Reader, get_reader, register

# Raised whenever a reader's output changes for the same source and options, so that stores made by an
# earlier revision are made again (2: copies of an image stay on one side of a seeded split; 3: goris2015
# trials showing the same components share a stimulus, near-copies of a movie stay on one side).
REVISION = 3

__all__ = ["READERS", "REVISION", "Reader", "get_reader", "register"]
