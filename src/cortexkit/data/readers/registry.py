"""The reader registry: one module per source format, found by name.

A reader is a function ``read(path, **options) -> xarray.Dataset`` returning a dataset in the data
model (arrays may be lazy Dask arrays for large sources); :func:`register` records it with a
one-line summary and an example. Errors about the source name the file and the field.
"""

from __future__ import annotations

import inspect
import os
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import xarray as xr
from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from cortexkit.errors import ConfigError, listed
from cortexkit.registry import Registry


@dataclass(frozen=True)
class Reader:
    """A registered reader: the function and what ``cortexkit list formats`` says about it."""

    name: str
    read_fn: Callable[..., xr.Dataset]
    summary: str
    example: str
    options: dict[str, str] = field(default_factory=dict)

    @cached_property
    def schema(self) -> type[BaseModel]:
        """The reader's options as a pydantic model, from its signature: the keyword-only parameters,
        their type annotations and defaults (how ``--option key=value`` values are checked)."""
        hints = typing.get_type_hints(self.read_fn)
        fields = {name: (hints.get(name, Any), ... if p.default is p.empty else p.default)
                  for name, p in inspect.signature(self.read_fn).parameters.items() if p.kind == p.KEYWORD_ONLY}
        config = ConfigDict(extra="forbid", coerce_numbers_to_str=True, allow_inf_nan=False)
        return create_model(f"{self.name}_options", __config__=config, **fields)

    def check_options(self, options: dict) -> dict:
        """``options`` checked against :attr:`schema` (types converted: ``size=64`` arrives as an int);
        a ConfigError naming each bad option."""
        accepted = list(self.schema.model_fields)
        options = {k: os.fspath(v) if isinstance(v, os.PathLike) else v for k, v in options.items()}  # paths as text
        unknown = sorted(set(options) - set(accepted))
        if unknown:
            raise ConfigError(f"reader {self.name!r} has no option(s) {listed(unknown)}; it takes {listed(accepted) or 'none'}")
        try:
            checked = self.schema.model_validate(options)
        except ValidationError as exc:
            problems = "; ".join(f"option {'.'.join(map(str, e['loc']))}: {e['msg']} (got {e.get('input')!r})"
                                 for e in exc.errors())
            raise ConfigError(f"reader {self.name!r}: {problems}") from None
        values = {name: getattr(checked, name) for name in options}
        for name, value in values.items():
            problem = _out_of_range(name, value)
            if problem:
                raise ConfigError(f"reader {self.name!r}: option {name} {problem}, got {value!r}")
        return values

    def read(self, path, **options) -> xr.Dataset:
        """Call the reader with its options checked (unknown ones rejected with a list of those it takes)."""
        return self.read_fn(path, **self.check_options(options))


# Limits every reader's options of these names share (sizes allocate memory, rates and speeds divide):
# (lowest, highest, whether the lowest is allowed).
OPTION_LIMITS = {
    "image_size": (1, 4096, True), "size": (1, 4096, True), "frames": (1, 100_000, True), "max_trials": (1, None, True),
    "frame_rate": (0, 10_000, False), "speed": (0, None, False), "field_deg": (0, None, False),
    "duration": (0, None, False), "time_bin": (0, None, False), "tile": (0, None, False),
    "test_fraction": (0, 1, False),
}


def _out_of_range(name: str, value) -> str | None:
    """Why ``value`` is outside the shared limits of option ``name`` (None when it is inside or has none)."""
    if name not in OPTION_LIMITS or value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    low, high, inclusive = OPTION_LIMITS[name]
    below = value < low if inclusive else value <= low
    above = high is not None and (value > high if name != "test_fraction" else value >= high)
    if below or above:
        lower = f">= {low}" if inclusive else f"> {low}"
        upper = "" if high is None else (f" and < {high}" if name == "test_fraction" else f" and <= {high}")
        return f"must be {lower}{upper}"
    return None


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
