"""Typed configuration: YAML in and out, and the provenance written beside every result."""

from __future__ import annotations

import datetime as _dt
import os
import platform
from importlib import metadata
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from cortexkit._atomic import write_text
from cortexkit.errors import ConfigError

M = TypeVar("M", bound=BaseModel)

_PACKAGES = ("cortexkit", "numpy", "scipy", "torch", "scikit-learn", "xarray", "zarr", "pandas", "scikit-image")


def versions() -> dict[str, str]:
    """Python and key package versions, for reproducibility records."""
    out = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def provenance(seed: int) -> dict:
    """What produced a result: versions, seed, time and host."""
    return {
        "seed": seed,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "host": platform.node(),
        "versions": versions(),
    }


def load_yaml(path: str | os.PathLike) -> dict:
    """Read a YAML mapping, with errors naming the file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such config file")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    return data


def parse(model: type[M], data: dict, source: str = "config") -> M:
    """Validate ``data`` into ``model``; errors list each bad field by its dotted path."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"{source}: {problems}") from None


def load_config(model: type[M], path: str | os.PathLike) -> M:
    """A typed config from a YAML file."""
    return parse(model, load_yaml(path), str(path))


def dump_yaml(data: dict, path: str | os.PathLike) -> Path:
    """Write a mapping as YAML, atomically."""
    return write_text(path, yaml.safe_dump(data, sort_keys=False))
