"""One registry mechanism for every plugin family: readers, feature extractors, cores, readouts,
decoders and benchmarks.

A plugin file decorates what it defines with ``@FAMILY.register("name", ...)``; importing the
family's package imports every plugin file, so the registry is complete once the package is
imported. Lookups by an unknown name fail with one line listing what is available.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from cortexkit.errors import ConfigError


def _with_defaults(name: str, obj: Any, meta: dict) -> Any:
    """Default wrapping: keyword ``meta`` become default arguments of a callable plugin."""
    return partial(obj, **meta) if meta else obj


class Registry(dict):
    """Plugins of one family by name: a ``dict`` of name -> entry, filled by a decorator.

    Parameters
    ----------
    kind : str
        What the family is called in error messages ("feature extractor", "format", ...).
    wrap : callable, optional
        ``wrap(name, obj, meta) -> entry``: what is stored for a decorated ``obj`` registered with
        keyword ``meta``. By default the object itself, or ``functools.partial(obj, **meta)``.

    Examples
    --------
    >>> CORES = Registry("core")
    >>> @CORES.register("conv2d")
    ... class Conv2dCore: ...
    >>> CORES.lookup("conv2d") is Conv2dCore
    True
    """

    def __init__(self, kind: str, wrap: Callable[[str, Any, dict], Any] | None = None):
        super().__init__()
        self.kind = kind
        self._wrap = wrap or _with_defaults

    def register(self, name: str, **meta) -> Callable:
        """Decorator recording the decorated object under ``name``; returns the object unchanged."""

        def decorate(obj):
            self[name] = self._wrap(name, obj, meta)
            return obj

        return decorate

    def lookup(self, name: str) -> Any:
        """The entry registered as ``name``; a :class:`~cortexkit.errors.ConfigError` if none is."""
        if name not in self:
            raise ConfigError(f"unknown {self.kind} {name!r}; available: {sorted(self)}")
        return self[name]

    def summary(self, name: str) -> str:
        """One line saying what ``name`` is: its ``summary`` where it has one, else the first line of
        its docstring (the listings of ``cortexkit list``)."""
        entry = self.lookup(name)
        text = getattr(entry, "summary", None) or (getattr(entry, "func", entry).__doc__ or "")
        return " ".join(text.strip().split("\n\n")[0].split())
