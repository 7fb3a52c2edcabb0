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
    if isinstance(value, (int, float)):
        return int(value)
    m = re.fullmatch(r"\s*([0-9.]+)\s*([a-zA-Z]*)\s*", str(value))
    if not m or m.group(2).lower() not in _UNITS:
        raise ConfigError(f"max_memory must be bytes or a size like '2GB', got {value!r}")
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])
