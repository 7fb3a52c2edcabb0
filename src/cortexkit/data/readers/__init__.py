"""Readers: turn each source format into the cortexkit data model.

``cortexkit data convert SRC DST.zarr --format NAME`` (or :func:`cortexkit.data.convert`) runs one.
Importing this package registers every reader.
"""

from cortexkit.data.readers import allen_boc_ns118, allen_nwb, brainscore, cowley2023, gold_mt, goris2015, nsd, nwb, sensorium2023, stsbench  # noqa: F401  (registration)
from cortexkit.data.readers.registry import READERS, Reader, get_reader, register

__all__ = ["READERS", "Reader", "get_reader", "register"]
