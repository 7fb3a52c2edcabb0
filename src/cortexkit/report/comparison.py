"""The heat map of a representation comparison (CKA / RSA between feature spaces and neurons)."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from cortexkit.report import figures
from cortexkit.report.page import save_figure


def write_comparison_figure(frame: pd.DataFrame, out: str | os.PathLike) -> Path:
    """Draw ``OUT/comparison.png`` from the table :func:`cortexkit.pipelines.compare_representations` returned."""
    path = Path(out) / "comparison.png"
    save_figure(figures.similarity_matrix(frame, title=frame.attrs.get("title", "")), path)
    return path
