"""Typed configuration: YAML in and out, and the provenance written beside every result."""

from __future__ import annotations

import datetime as _dt
import os
import platform
from importlib import metadata
from pathlib import Path
from typing import Annotated, TypeVar

import yaml
from pydantic import AfterValidator, BaseModel, Field, TypeAdapter, ValidationError

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


def _merge(base: dict, overrides: dict) -> dict:
    out = dict(base)
    for key, value in overrides.items():
        if value is None:
            continue
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            value = _merge(out[key], value)
        out[key] = value
    return out


def with_overrides(model: type[M], config: M | None, overrides: dict) -> M:
    """``config`` (or the defaults of ``model``) with ``overrides`` applied, validated again: keyword
    overrides of a simulator (``simulate_v1(n_train=500)``) get the same checks as a YAML file."""
    merged = (config or model()).model_copy(update=overrides)
    return parse(model, merged.model_dump(), f"{model.__name__} settings")


def resolve_config(model: type[M], path: str | os.PathLike | None = None, overrides: dict | None = None,
                   context: str | None = None) -> M:
    """A typed config: the model's defaults, then the YAML file at ``path``, then ``overrides``.

    Parameters
    ----------
    model : pydantic model class
    path : path, optional
        A YAML file with (some of) the model's fields.
    overrides : dict, optional
        Values given on the command line; None means "not given". Nested dicts are merged into the
        nested settings they name (e.g. ``{"ridge": {"device": "cuda"}}``).
    context : str, optional
        Named in the error when an override is not a field of ``model`` (e.g. "--population mt").

    Raises
    ------
    ConfigError
        Naming the file (or "options") and each bad field by its dotted path.
    """
    base = load_config(model, path) if path else model()
    given = {k: v for k, v in (overrides or {}).items() if v is not None}
    foreign = sorted(set(given) - set(model.model_fields))
    if foreign:
        raise ConfigError(f"option(s) {foreign} do not apply to {context or model.__name__}")
    return parse(model, _merge(base.model_dump(), given), str(path) if path else "options")


def parse_key_values(pairs: list[str] | None) -> dict:
    """``key=value`` strings (command-line ``--option`` / ``--param``) to a dict; values are read as
    YAML scalars, so numbers and booleans arrive typed."""
    out = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"--option expects key=value, got {pair!r}")
        key = key.strip()
        if key in out:  # the last one would silently win: refused, as other repeated options are
            raise ConfigError(f"{key} is given twice ({key}={out[key]} and {pair.strip()}); give it once")
        out[key] = yaml.safe_load(value) if value else None
    return out


def available_cores() -> int:
    """The CPU cores this process may run on (its affinity mask, which containers and job schedulers set;
    ``os.cpu_count`` counts the whole machine)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # no affinity on this platform (macOS)
        return max(1, os.cpu_count() or 1)


def use_available_cores() -> int:
    """Torch's intra-op threads: ``CORTEXKIT_THREADS`` when set, else at most :func:`available_cores`
    (torch's own default can count cores the process may not run on, and oversubscribed threads slow
    every convolution); a smaller number set before (a test worker's share) is kept. Returns it."""
    import torch

    wanted = os.environ.get("CORTEXKIT_THREADS", "").strip()
    threads = max(1, int(wanted)) if wanted.isdigit() else min(torch.get_num_threads(), available_cores())
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    return threads


def check_device(device: str) -> str:
    """``device`` if it names a torch device cortexkit runs on ("cpu", "cuda", "cuda:N"); else a
    ValueError (for pydantic field validators, which turn it into a ConfigError)."""
    kind, _, index = str(device).partition(":")
    if (kind == "cpu" and not index) or (kind == "cuda" and (not index or index.isdigit())):
        return device
    raise ValueError(f"device must be cpu, cuda or cuda:N, got {device!r}")


def require_device(device: str, option: str = "device") -> None:
    """A ConfigError unless torch can run on ``device`` on this machine (checked when a run starts,
    so that configs written for a GPU still load elsewhere)."""
    import torch

    check_device(device)
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError(f"{option} {device!r} is not available: this torch build sees no CUDA device; use cpu")
        index = int(device.partition(":")[2] or 0)
        if index >= torch.cuda.device_count():
            raise ConfigError(f"{option} {device!r} is not available: {torch.cuda.device_count()} CUDA device(s)")


# ---- values typed on the command line ---------------------------------------------------------
# Every option of every command is checked by one of these (pydantic types, so the same rules as the
# configs), before any work: a bad value ends in one line naming the option.

Count = Annotated[int, Field(ge=0)]  # permutations, diverse inputs, jitter: 0 allowed
Positive = Annotated[int, Field(ge=1)]  # stimuli, steps, draws, epochs, units to show
Seed = Annotated[int, Field(ge=0, lt=2**32)]  # what numpy and torch generators accept alike
Pixels = Annotated[int, Field(ge=8, le=4096)]  # image sizes (memory is checked separately)
Draws = Annotated[int, Field(ge=1, le=1_000_000)]  # bootstrap draws and shuffles: more only costs memory and time
Shuffles = Annotated[int, Field(ge=0, le=1_000_000)]  # as Draws, where 0 skips the test
Repeats = Annotated[int, Field(ge=2)]  # repeats of a test stimulus: a noise ceiling needs two
OpenProbability = Annotated[float, Field(gt=0, lt=1, allow_inf_nan=False)]  # significance levels
Fraction = Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)]  # shares of a response, similarities
NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]  # smoothing widths, tolerances
PositiveFloat = Annotated[float, Field(gt=0, allow_inf_nan=False)]  # contrast budgets


def _address(value: str) -> str:
    import re

    match = re.fullmatch(r"(tcp|tls|ucx|ws|wss)://([A-Za-z0-9_.\-]+|\[[0-9A-Fa-f:]+\]):([0-9]{1,5})", value)
    if match is None or not 0 < int(match.group(3)) < 65536:
        raise ValueError("a scheduler address is PROTOCOL://HOST:PORT, e.g. tcp://10.0.0.1:8786")
    return value


Address = Annotated[str, AfterValidator(_address)]  # a Dask scheduler


def _device(value: str) -> str:
    return check_device(value)


Device = Annotated[str, AfterValidator(_device)]


def _names(value: str) -> str:
    names = [n.strip() for n in value.split(",")]
    if not value.strip() or any(not n for n in names):
        raise ValueError("expected a comma-separated list of names without empty entries")
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ValueError(f"names given twice: {twice}")
    return value


Names = Annotated[str, AfterValidator(_names)]  # a comma list: non-empty entries, each once


def validation_message(exc: ValidationError) -> str:
    """The messages of a pydantic error, without pydantic's links and input echoes."""
    return "; ".join(err["msg"].removeprefix("Value error, ") for err in exc.errors())


def checked(annotation):
    """A command-line parser (typer's ``parser=``) for a pydantic type (``Count``, ``Seed``,
    ``Names``, ...): strings convert as pydantic converts them, and a bad value is a usage error
    naming the option."""
    adapter = TypeAdapter(annotation)

    def parse(value):
        if value is None or not isinstance(value, str):
            return value
        try:
            return adapter.validate_python(value.strip())
        except ValidationError as exc:
            raise ValueError(f"{validation_message(exc)} (got {value!r})") from None

    return parse
