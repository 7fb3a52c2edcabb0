"""Memory budgets given as sizes ("4GB"), shared by ridge blocks and feature extraction batches."""

from __future__ import annotations

import re

from cortexkit.errors import ConfigError

_UNITS = {"": 1, "b": 1, "k": 2**10, "kb": 2**10, "m": 2**20, "mb": 2**20, "g": 2**30, "gb": 2**30, "t": 2**40, "tb": 2**40}


def parse_memory(value) -> int | None:
    """Bytes from an int or a string such as ``"2GB"``, ``"512 MB"``, ``"1.5g"``.

    Parameters
    ----------
    value : int, float, str or None
        A byte count or a size with a binary unit (k, m, g, t; "b" optional; case-insensitive).

    Returns
    -------
    int or None
        The number of bytes, or None when ``value`` is None (no budget).
    """
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        n = float(value)
    else:
        m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*", str(value))
        if not m or m.group(2).lower() not in _UNITS:
            raise ConfigError(f"max_memory must be bytes or a size like '2GB', got {value!r}")
        n = float(m.group(1)) * _UNITS[m.group(2).lower()]
    if not n > 0:  # NaN, zero or negative (a small positive budget means: the smallest blocks)
        raise ConfigError(f"max_memory must be a positive size, got {value!r}")
    return int(n)


def machine_memory() -> int:
    """This machine's physical memory in bytes (16 GiB when the system does not say)."""
    import os

    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        return 16 * 2**30


def format_bytes(n: float) -> str:
    """``n`` bytes in the largest binary unit that keeps it above 1: ``1.5 TB``."""
    for unit in ("TB", "GB", "MB", "kB"):
        size = {"TB": 2**40, "GB": 2**30, "MB": 2**20, "kB": 2**10}[unit]
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{int(n)} B"


def require_memory(n_bytes: float, what: str, share: float = 0.8) -> None:
    """A ConfigError, before anything is allocated, when ``what`` would need more than ``share`` of
    this machine's memory (``n_bytes`` is the caller's estimate)."""
    total = machine_memory()
    if n_bytes > share * total:
        raise ConfigError(f"{what} would need about {format_bytes(n_bytes)} of memory, more than this machine's "
                          f"{format_bytes(total)} allows; ask for fewer or smaller stimuli")
