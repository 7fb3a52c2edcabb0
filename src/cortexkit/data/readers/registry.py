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
from cortexkit.registry import Registry


@dataclass(frozen=True)
class Reader:
    """A registered reader: the function and what ``cortexkit list formats`` says about it."""

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


def _reader(name: str, read_fn: Callable[..., xr.Dataset], meta: dict) -> Reader:
    return Reader(name, read_fn, meta["summary"], meta["example"], dict(meta.get("options") or {}))


# Readers by format name; each reader module registers its function with ``@register(...)``.
READERS = Registry("format", wrap=_reader)


def register(name: str, *, summary: str, example: str, options: dict[str, str] | None = None):
    """Decorator adding a reader function to :data:`READERS`, with a one-line summary, an example
    command and its options (name -> description)."""
    return READERS.register(name, summary=summary, example=example, options=options)


def get_reader(name: str) -> Reader:
    """The reader of format ``name``."""
    return READERS.lookup(name)
