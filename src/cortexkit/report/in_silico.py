"""Figures of in-silico experiments: the MEI grid beside each unit's most exciting images, and
orientation tuning curves."""

from __future__ import annotations

import os
from pathlib import Path

from cortexkit.evaluation import load_arrays, read_table
from cortexkit.report import figures
from cortexkit.report.page import FIGURES_DIR, save_figure


def write_synthesis_figure(out: str | os.PathLike) -> Path:
    """``OUT/figures/meis.png`` from what :func:`cortexkit.pipelines.synthesize` wrote in ``OUT``."""
    out = Path(out)
    saved = load_arrays(out / "meis.npz")
    table = read_table(out / "meis.csv")
    fig = figures.mei_grid(saved["images"], list(saved["units"]), saved["top_pixels"] / 255.0, table["ratio"].to_numpy())
    save_figure(fig, out / FIGURES_DIR / "meis.png")
    return out / FIGURES_DIR / "meis.png"


def write_tuning_figure(out: str | os.PathLike) -> Path:
    """``OUT/figures/orientation_tuning.png`` from what :func:`cortexkit.pipelines.tuning` wrote."""
    out = Path(out)
    fig = figures.orientation_tuning(read_table(out / "tuning.csv"), read_table(out / "preferred.csv"))
    save_figure(fig, out / FIGURES_DIR / "orientation_tuning.png")
    return out / FIGURES_DIR / "orientation_tuning.png"
