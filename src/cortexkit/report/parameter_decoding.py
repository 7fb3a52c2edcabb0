"""Figures of stimulus-parameter decoding: the confusion matrix and the neurometric curve."""

from __future__ import annotations

import os
from pathlib import Path

from cortexkit.report import figures
from cortexkit.report.page import save_figure


def write_decoding_figures(decoding: dict, out: str | os.PathLike) -> list[Path]:
    """Draw ``OUT/confusion.png`` (classification) and ``OUT/neurometric.png`` (with ``by``).

    Parameters
    ----------
    decoding : dict
        What :func:`cortexkit.pipelines.run_parameter_decoding` returned.
    out : path
        The folder it wrote ``decoding.csv`` to.
    """
    out = Path(out)
    result, curve, parameter = decoding["result"], decoding["curve"], decoding["parameter"]
    written = []
    if result.confusion is not None:
        fig = figures.confusion(result.confusion, result.labels, title=f"{parameter}: accuracy {result.score:.2f} "
                                f"(chance {result.chance:.2f}, p = {result.p_value:.3g})")
        save_figure(fig, out / "confusion.png")
        written.append(out / "confusion.png")
    if curve:
        save_figure(figures.neurometric_curve(curve, decoding["by"], chance=1.0 / decoding["n_classes"]), out / "neurometric.png")
        written.append(out / "neurometric.png")
    return written
