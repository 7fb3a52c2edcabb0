"""The reader registry: one module per source format, found by name.

A reader is a function ``read(path, **options) -> xarray.Dataset`` returning a dataset in the data
model (arrays may be lazy Dask arrays for large sources); :func:`register` records it with a
one-line summary and an example. Errors about the source name the file and the field.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field

import xarray as xr

from cortexkit.errors import ConfigError


@dataclass(frozen=True)
class Reader:
    name: str
    read_fn: Callable[..., xr.Dataset]
    summary: str
    example: str
    options: dict[str, str] = field(default_factory=dict)

    def read(self, path, **options) -> xr.Dataset:
        """Call the reader, rejecting options it does not take with a list of those it does."""
        params = inspect.signature(self.read_fn).parameters
        accepted = [n for n, p in params.items() if p.kind == p.KEYWORD_ONLY]
        unknown = sorted(set(options) - set(accepted))
        if unknown:
            raise ConfigError(f"reader {self.name!r} has no option(s) {unknown}; it takes {accepted or 'none'}")
        return self.read_fn(path, **options)


READERS: dict[str, Reader] = {}


def register(name: str, *, summary: str, example: str, options: dict[str, str] | None = None):
    """Decorator adding a reader function to :data:`READERS`."""

    def wrap(fn):
        READERS[name] = Reader(name, fn, summary, example, dict(options or {}))
        return fn

    return wrap


def get_reader(name: str) -> Reader:
    if name not in READERS:
        raise ConfigError(f"unknown format {name!r}; available: {sorted(READERS)}")
    return READERS[name]
