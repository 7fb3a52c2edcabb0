"""Figures of in-silico experiments: the MEI grid beside each unit's most exciting images, diverse
exciting inputs, orientation or direction tuning curves and receptive-field maps."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from cortexkit.evaluation import load_arrays, read_table
from cortexkit.report import figures
from cortexkit.report.page import FIGURES_DIR, save_figure


def write_synthesis_figure(out: str | os.PathLike) -> Path:
    """``OUT/figures/meis.png`` (and ``diverse.png`` when there are diverse inputs) from what
    :func:`cortexkit.pipelines.synthesize` wrote in ``OUT``."""
    out = Path(out)
    saved = load_arrays(out / "meis.npz")
    table = read_table(out / "meis.csv")
    video = bool(saved["video"]) if "video" in saved else False
    fig = figures.mei_grid(saved["images"], list(saved["units"]), saved["top_pixels"] / 255.0, table["ratio"].to_numpy(),
                           video=video)
    save_figure(fig, out / FIGURES_DIR / "meis.png")
    if (out / "diverse.npz").exists():
        div = load_arrays(out / "diverse.npz")
        n = div["similarity"].shape[1]
        similarity = div["similarity"][:, ~np.eye(n, dtype=bool)].mean(axis=1)
        fig = figures.diverse_grid(saved["images"], div["images"], list(div["units"]), similarity,
                                   div["responses"] / div["mei_responses"][:, None], video=video)
        save_figure(fig, out / FIGURES_DIR / "diverse.png")
    return out / FIGURES_DIR / "meis.png"


def write_tuning_figure(out: str | os.PathLike) -> Path:
    """``OUT/figures/orientation_tuning.png`` (image models) or ``direction_tuning.png`` (video
    models) and ``receptive_fields.png`` from what :func:`cortexkit.pipelines.tuning` wrote."""
    out = Path(out)
    responses, preferred = read_table(out / "tuning.csv"), read_table(out / "preferred.csv")
    parameter = "direction" if "direction" in preferred else "orientation"
    path = out / FIGURES_DIR / f"{parameter}_tuning.png"
    save_figure(figures.tuning_curves(responses, preferred, parameter), path)
    maps = load_arrays(out / "receptive_fields.npz")
    save_figure(figures.receptive_field_maps(list(maps["units"]), maps["sparse_noise"], maps.get("gradient")),
                out / FIGURES_DIR / "receptive_fields.png")
    return path
