"""The page of a representation comparison (CKA / RSA between feature spaces and neurons)."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from cortexkit.report import figures
from cortexkit.report.page import FIGURES_DIR, REPORT_FILE, figure_html, save_figure, table_html, write_page


def write_comparison_report(frame: pd.DataFrame, out: str | os.PathLike) -> Path:
    """Draw ``OUT/figures/comparison.png`` and write ``OUT/report.html`` from the table
    :func:`cortexkit.pipelines.compare_representations` returned (and wrote as ``comparison.csv``)."""
    out = Path(out)
    title = frame.attrs.get("title", "")
    src = save_figure(figures.similarity_matrix(frame, title=title), out / FIGURES_DIR / "comparison.png")
    body = [f"<p>{title}: every feature space (each layer of multi-layer ones) against every other and against the "
            "repeat-averaged neural responses (<code>neural</code>).</p>",
            figure_html(src, "Similarity of every pair of representations."),
            table_html(frame.reset_index(names="")), '<p>Table: <a href="comparison.csv">comparison.csv</a>.</p>']
    return write_page(out / REPORT_FILE, "cortexkit representation comparison", body)
