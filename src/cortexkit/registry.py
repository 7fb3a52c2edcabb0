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

from cortexkit.errors import ConfigError, listed


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
            raise ConfigError(f"unknown {self.kind} {name!r}; available: {listed(sorted(self))}")
        return self[name]

    def summary(self, name: str) -> str:
        """One line saying what ``name`` is: its ``summary`` where it has one, else the first line of
        its docstring (the listings of ``cortexkit list``)."""
        entry = self.lookup(name)
        text = getattr(entry, "summary", None) or (getattr(entry, "func", entry).__doc__ or "")
        return plain_text(" ".join(text.strip().split("\n\n")[0].split()))


def plain_text(text: str) -> str:
    """Docstring markup as plain words: ``code`` and :role:`~a.b.Name` become code and Name."""
    import re

    text = re.sub(r":[a-z]+:`~?(?:[\w.]+\.)?([^`]+?)`", r"\1", text)  # :meth:`~pkg.Class.method` -> method
    return text.replace("``", "")


def is_user_reference(name: str) -> bool:
    """Whether ``name`` points at the user's own code: ``path/to/file.py:Name`` or
    ``package.module:Name`` (a dotted module path before the colon)."""
    if ":" not in name:
        return False
    where = name.rsplit(":", 1)[0]
    return where.endswith(".py") or "/" in where or "\\" in where or "." in where


def load_user_object(reference: str) -> Any:
    """The object ``Name`` of ``path/to/file.py:Name`` (the file is imported as a module of its own)
    or of ``package.module:Name`` (imported from the Python path). Errors name the file or module and
    the missing attribute."""
    import importlib
    import importlib.util
    import sys
    from pathlib import Path

    from cortexkit.errors import DataError

    where, _, attr = reference.rpartition(":")
    if not where or not attr:
        raise ConfigError(f"{reference!r}: name your object as path/to/file.py:Name or package.module:Name")
    if where.endswith(".py") or "/" in where or "\\" in where:
        path = Path(where).expanduser()
        if not path.is_file():
            raise DataError("no such Python file", source=str(path))
        name = f"cortexkit_user_{abs(hash(str(path.resolve())))}"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses and pickling look modules up by name
        try:
            spec.loader.exec_module(module)
        except Exception as exc:  # noqa: BLE001 - the user's code failed on import: say where
            sys.modules.pop(name, None)
            raise ConfigError(f"{path}: importing it failed ({type(exc).__name__}: {exc})") from None
        source = str(path)
    else:
        try:
            module = importlib.import_module(where)
        except Exception as exc:  # noqa: BLE001
            raise ConfigError(f"cannot import module {where!r} ({type(exc).__name__}: {exc})") from None
        source = where
    if not hasattr(module, attr):
        defined = sorted(n for n, v in vars(module).items() if not n.startswith("_") and callable(v))
        raise ConfigError(f"{source} has no attribute {attr!r}; it defines: {', '.join(defined) or 'nothing callable'}")
    return getattr(module, attr)
