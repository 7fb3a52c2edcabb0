"""The page of stimulus-parameter decoding: the scores, the confusion matrix and the neurometric curve."""

from __future__ import annotations

import os
from pathlib import Path

from cortexkit.report import figures
from cortexkit.report.page import FIGURES_DIR, REPORT_FILE, figure_html, save_figure, table_html, write_page


def write_decoding_report(decoding: dict, out: str | os.PathLike) -> Path:
    """Draw ``OUT/figures/confusion.png`` (classification) and ``OUT/figures/neurometric.png`` (with
    ``by``) and write ``OUT/report.html``.

    Parameters
    ----------
    decoding : dict
        What :func:`cortexkit.pipelines.run_parameter_decoding` returned.
    out : path
        The folder it wrote ``decoding.csv`` to.
    """
    out = Path(out)
    result, curve, parameter = decoding["result"], decoding["curve"], decoding["parameter"]
    body = [f"<p>{parameter} decoded from single trials (cross-validated), against chance and a label-shuffle "
            "permutation p-value.</p>", table_html(decoding["table"])]
    if result.confusion is not None:
        fig = figures.confusion(result.confusion, result.labels, title=f"{parameter}: accuracy {result.score:.2f} "
                                f"(chance {result.chance:.2f}, p = {result.p_value:.3g})")
        body.append(figure_html(save_figure(fig, out / FIGURES_DIR / "confusion.png"),
                                "Confusion matrix: rows the true class, columns the decoded one (fractions of each row)."))
    if curve:
        fig = figures.neurometric_curve(curve, decoding["by"], chance=1.0 / decoding["n_classes"])
        body.append(figure_html(save_figure(fig, out / FIGURES_DIR / "neurometric.png"),
                                f"Decoding accuracy against {decoding['by']} (dashed: chance)."))
    body.append('<p>Table: <a href="decoding.csv">decoding.csv</a>.</p>')
    return write_page(out / REPORT_FILE, f"cortexkit decoding: {parameter}", body)
