"""Tidy tables written for people: Markdown beside the CSV."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from cortexkit._atomic import write_text


def p_text(p: float) -> str:
    """A p-value as a table shows it: ``< 0.001`` below that, else three significant digits, ``n/a`` for NaN."""
    if p is None or p != p:
        return "n/a"
    return "< 0.001" if p < 0.001 else f"{p:.3g}"


def to_markdown(table: pd.DataFrame, digits: int = 3) -> str:
    """A GitHub-flavoured Markdown table; floats with ``digits`` decimals, NaN as an empty cell."""

    def cell(v):
        if isinstance(v, float):
            return "" if pd.isna(v) else f"{v:.{digits}f}"
        return str(v)

    lines = ["| " + " | ".join(map(str, table.columns)) + " |", "|" + "---|" * len(table.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join(lines) + "\n"


def write_csv_and_markdown(table: pd.DataFrame, out: str | os.PathLike, stem: str) -> Path:
    """Write ``OUT/STEM.csv`` and ``OUT/STEM.md`` (atomically); returns the CSV's path."""
    out = Path(out)
    write_text(out / f"{stem}.md", to_markdown(table))
    return write_text(out / f"{stem}.csv", table.to_csv(index=False))
