"""The building blocks of every HTML page cortexkit writes: one style sheet, figures saved next to
the page, tables and the configuration block. Pages are static files with no external resources.
"""

from __future__ import annotations

import html
import os
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import yaml

from cortexkit._atomic import atomic_path, write_text

REPORT_FILE = "report.html"
FIGURES_DIR = "figures"

CSS = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; color: #222; }
table { border-collapse: collapse; font-size: 0.9em; }
th, td { padding: 0.3em 0.7em; border-bottom: 1px solid #ddd; text-align: right; }
th { background: #f4f4f4; }
td:first-child, th:first-child { text-align: left; }
figure { margin: 1.5em 0; } figcaption { color: #555; font-size: 0.9em; }
img { max-width: 100%; } pre { background: #f7f7f7; padding: 1em; overflow-x: auto; font-size: 0.8em; }
"""


def save_figure(fig, path: str | os.PathLike, dpi: int = 110) -> str:
    """Save a matplotlib figure as PNG (atomically), close it, and return its path relative to the
    page (``figures/NAME.png`` for a figure in the run's figures folder)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, format="png")
    plt.close(fig)
    return f"{path.parent.name}/{path.name}"


def figure_html(src: str, caption: str) -> str:
    """A ``<figure>`` with the image at ``src`` and its caption."""
    return (f'<figure><img src="{html.escape(src)}" alt="{html.escape(caption[:60])}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


def table_html(table: pd.DataFrame, digits: int = 3) -> str:
    """A results table as HTML, floats with ``digits`` decimals."""
    return table.to_html(index=False, float_format=lambda v: f"{v:.{digits}f}", border=0)


def facts_html(facts: list[tuple[str, object]]) -> str:
    """A two-column table of (name, value) facts."""
    rows = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in facts)
    return f"<table>{rows}</table>"


def config_html(record: dict) -> str:
    """The run's resolved configuration as a YAML block."""
    return "<h2>Configuration</h2><pre>" + html.escape(yaml.safe_dump(record, sort_keys=False)) + "</pre>"


def write_page(path: str | os.PathLike, title: str, body: list[str]) -> Path:
    """Write a standalone HTML page (atomically) with the shared style sheet; ``title`` is plain text."""
    title = html.escape(title)
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title><style>{CSS}</style></head>"
            f"<body><h1>{title}</h1>{''.join(body)}</body></html>")
    return write_text(path, page)
