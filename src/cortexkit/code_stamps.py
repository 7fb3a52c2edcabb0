"""Hashes of cortexkit's own source code, which cached artefacts are keyed on.

A cached result (an extractor's features, a benchmark cell, a decoder's reconstructions, a converted
store) stays valid while the code that made it is unchanged, whatever the version number says. The
code of a component is the source of the modules it is defined in (a class and its cortexkit base
classes, or a function) together with the cortexkit modules those import directly: a fix to an
extractor, or to the helper module it computes with, recomputes what used it and nothing else.
Shared machinery (scoring, ridge, training) is hashed by package with :func:`modules_hash`.

Files are read where Python imports them from, so a copy of the package hashes as the copy.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import importlib.util
import inspect
import os
import sys
from pathlib import Path

PACKAGE = "cortexkit"


@functools.lru_cache(maxsize=None)
def _file_digest(path: str, size: int, mtime: int) -> str:  # size and mtime: a file edited in-process is read again
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _digest(path: Path) -> str:
    st = path.stat()
    return _file_digest(str(path), st.st_size, st.st_mtime_ns)


def _files(name: str) -> list[Path]:
    """The source files of module or package ``name`` (a package: every module in it)."""
    module = sys.modules.get(name)
    spec = None if module is not None else importlib.util.find_spec(name)
    locations = getattr(module, "__path__", None) if module is not None else (spec and spec.submodule_search_locations)
    if locations:
        return sorted(p for loc in locations for p in Path(loc).rglob("*.py"))
    origin = getattr(module, "__file__", None) if module is not None else (spec and spec.origin)
    return [Path(origin)] if origin and str(origin).endswith(".py") else []


def modules_hash(*names: str) -> str:
    """SHA-256 over the source of the named modules or packages (their files, in order)."""
    h = hashlib.sha256()
    for name in sorted(set(names)):
        for path in _files(name):
            h.update(f"{name}:{path.name}:{_digest(path)}\n".encode())
    return h.hexdigest()


@functools.lru_cache(maxsize=None)
def _direct_imports(path: str, size: int, mtime: int) -> tuple[str, ...]:
    """The cortexkit modules a source file imports (at any depth of the file, one level of modules)."""
    found = set()
    for node in ast.walk(ast.parse(Path(path).read_bytes())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == PACKAGE)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0 and node.module.split(".")[0] == PACKAGE:
            for alias in node.names:  # `from cortexkit.x import y`: y may be a module itself
                sub = f"{node.module}.{alias.name}"
                found.add(sub if _is_module(sub) else node.module)
    return tuple(sorted(found))


def _own_file(name: str) -> Path:
    """The one file of a module (a package: its ``__init__.py``)."""
    module = sys.modules.get(name)
    origin = getattr(module, "__file__", None) if module is not None else importlib.util.find_spec(name).origin
    return Path(origin)


def _is_module(name: str) -> bool:
    """Whether ``name`` is an importable module (not a name inside one)."""
    if name in sys.modules:
        return True
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, AttributeError, ValueError):  # a parent that is a module, not a package
        return False


def _module_closure(module: str) -> set[str]:
    """A module and the cortexkit modules (or packages) it imports directly."""
    path = _own_file(module)
    st = path.stat()
    return {module, *_direct_imports(str(path), st.st_size, st.st_mtime_ns)}


def code_stamp(obj) -> str:
    """The hash of the code behind ``obj`` (a class, a function, or an instance of a class): the
    cortexkit modules it is defined in (a class: its cortexkit base classes' too) and the cortexkit
    modules those import directly, each module's own file (a package's ``__init__``). Objects from
    outside cortexkit stand for their module's name."""
    while isinstance(obj, functools.partial):  # a registered factory with preset arguments
        obj = obj.func
    target = obj if isinstance(obj, type) or inspect.isroutine(obj) else type(obj)
    classes = target.__mro__ if isinstance(target, type) else (target,)
    own = {c.__module__ for c in classes if str(getattr(c, "__module__", "")).split(".")[0] == PACKAGE}
    if not own:
        return hashlib.sha256(str(getattr(target, "__module__", "")).encode()).hexdigest()
    h = hashlib.sha256()
    for name in sorted(set().union(*(_module_closure(m) for m in own))):
        h.update(f"{name}:{_digest(_own_file(name))}\n".encode())
    return h.hexdigest()


def file_stamp(path: str | os.PathLike) -> str:
    """SHA-256 of one file's bytes (a user's own model file)."""
    return _digest(Path(path))
