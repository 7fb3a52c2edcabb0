"""Terminal output: the console, progress lines and tables, shared by every command."""

from __future__ import annotations

import re

import pandas as pd
from rich.console import Console
from rich.table import Table
from rich.text import Text

# Markup off: what is printed (paths, messages naming `pip install "cortexkit[zoo]"`, unit labels)
# is text, never a style tag; the few styled words are passed as styled Text.
console = Console(markup=False) if Console().is_terminal else Console(width=200, markup=False)  # logs and pipes: wide enough for tables
err_console = Console(stderr=True, markup=False)
# Short headers of a ridge run's summary table (summary.csv columns).
SUMMARY_HEADERS = {"model": "model", "cell_type": "cells", "area": "area", "n_units": "units", "n_scored": "scored", "n_significant": "q < 0.05", "median_pearson": "r",
                   "median_ceiling": "ceiling", "median_normalized": "r²/ceiling", "median_feve": "FEVE", "median_fev": "FEV",
                   "median_r2": "R²", "median_pearson_true": "r (truth)", "median_rf_corr": "RF |r|",
                   "median_rf_position_error_px": "RF error (px)", "left_out": "left out"}


# Columns that count things (trials, units, ...): printed without decimals even when stored as float.
COUNT_COLUMNS = {"trials", "n_trials", "units", "n_units", "n_scored", "n_significant", "n", "stimuli", "repeats", "n_test", "n_train"}


def log(message: str) -> None:
    """One indented progress line (printed as it is: brackets in it are text, not markup)."""
    console.print(f"  {message}", highlight=False)


def step(message: str) -> None:
    """A step's headline: ``"2/4 fit ridge on ..."`` with its ``N/M name`` in bold."""
    head = re.match(r"(\d+/\d+ \S+)(.*)", str(message), re.S)
    console.print(Text.assemble((head[1], "bold"), head[2]) if head else Text(str(message)), highlight=False)


def error(message: str) -> None:
    """One error line on stderr: ``error: MESSAGE``."""
    err_console.print(Text.assemble(("error:", "bold red"), f" {message}"), highlight=False, soft_wrap=True)


def print_table(frame: pd.DataFrame, title: str | None = None, headers: dict | None = None, *, nan: str = "n/a",
                dim: list[bool] | None = None, header: bool = True) -> None:
    """Print a table with rich.

    Parameters
    ----------
    frame : pandas.DataFrame
        Rows to print; floats with 3 decimals, numeric columns right-aligned.
    title : str, optional
    headers : dict, optional
        Column name -> printed header (others print their name).
    nan : str
        How NaN prints.
    dim : list of bool, optional
        Rows printed dimmed (e.g. null models).
    header : bool
        Without a header row, the first column is printed bold (a property table).
    """
    table = Table(title=title or None, title_justify="left", show_header=header)
    for i, col in enumerate(frame.columns):
        right = header and pd.api.types.is_numeric_dtype(frame[col])
        table.add_column((headers or {}).get(col, str(col)), justify="right" if right else "left",
                         style="bold" if not header and i == 0 else None)
    # A count column that holds a NaN is float in pandas: print its values as the integers they are.
    counts = [str(c).lower() in COUNT_COLUMNS for c in frame.columns]
    for i, row in enumerate(frame.itertuples(index=False)):
        cells = [nan if isinstance(v, float) and v != v else f"{v:.0f}" if isinstance(v, float) and counts[j] and float(v).is_integer()
                 else f"{v:.3f}" if isinstance(v, float) else str(v) for j, v in enumerate(row)]
        table.add_row(*cells, style="dim" if dim is not None and dim[i] else None)
    console.print(table)


def example_block(doc: str, width: int = 68) -> str:
    """Rewrite a docstring's one-line ``Example: cortexkit ...`` as shell lines of at most ``width``
    characters joined by ``\\``, an option kept with its value, so that an 80-column terminal never
    breaks the command mid-argument and the block still pastes as one command."""
    lines = doc.splitlines()
    for i, line in enumerate(lines):
        indent, _, command_line = line.partition("Example: ")
        if not command_line or indent.strip():
            continue
        words, units = command_line.split(), []
        while words:
            word = words.pop(0)
            if word.startswith("-") and words and not words[0].startswith("-"):
                word = f"{word} {words.pop(0)}"  # an option and its value stay on one line
            units.append(word)
        packed = [units[0]]
        for unit in units[1:]:
            if len(packed[-1]) + 1 + len(unit) > width:
                packed.append("  " + unit)
            else:
                packed[-1] += " " + unit
        body = [f"{indent}{p}" + (" \\" if k < len(packed) - 1 else "") for k, p in enumerate(packed)]
        lines[i:i + 1] = [f"{indent}Example:"] + body
        break
    return "\n".join(lines)


def reconstruction_headers(columns) -> dict:
    """Printed names of reconstruction-metric columns: ``2way_alexnet_conv5`` -> ``2way alex conv5``."""
    return {c: c.replace("alexnet_", "alex ").replace("_", " ") for c in columns}


def show_reconstruction_table(table: pd.DataFrame, title: str) -> None:
    """A reconstruction metrics table (``kind`` column: decoder or null), null rows dimmed."""
    print_table(table.drop(columns="kind"), title, reconstruction_headers(table.columns), dim=(table["kind"] == "null").tolist())
