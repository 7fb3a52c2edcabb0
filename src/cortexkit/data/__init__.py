"""The data model (xarray + Zarr), validation and split/repeat helpers.

>>> from cortexkit import data
>>> ds = data.open("recording.zarr")            # doctest: +SKIP
>>> train = data.select(ds, "train")            # doctest: +SKIP
>>> mean = data.repeat_average(data.select(ds, "test"))   # doctest: +SKIP
"""

from cortexkit.data.conversion import convert
from cortexkit.data.merge import merge_regions
from cortexkit.data.model import MODALITIES, SPLITS, make_dataset, stimulus_kind, validate
from cortexkit.data.overlap import describe_overlap, duplicate_groups, split_overlap
from cortexkit.data.selection import repeat_average, repeat_counts, repeats, require_recorded, select, time_bins_as_units
from cortexkit.data.store import load, open, save

__all__ = [
    "convert",
    "merge_regions",
    "describe_overlap",
    "duplicate_groups",
    "split_overlap",
    "MODALITIES",
    "SPLITS",
    "make_dataset",
    "validate",
    "stimulus_kind",
    "save",
    "open",
    "load",
    "select",
    "time_bins_as_units",
    "repeat_average",
    "repeat_counts",
    "repeats",
    "require_recorded",
]
