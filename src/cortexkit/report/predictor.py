"""The HTML report of a trained-predictor run: scores per session, training curve, readout positions."""

from __future__ import annotations

import os
from pathlib import Path

from cortexkit import data
from cortexkit.evaluation import read_run_record, read_table
from cortexkit.report import figures
from cortexkit.terminal import SUMMARY_HEADERS
from cortexkit.report.page import FIGURES_DIR, REPORT_FILE, config_html, figure_html, save_figure, table_html, write_page
from cortexkit.training_loop import load_checkpoint


def write_predictor_report(run_dir: str | os.PathLike) -> Path:
    """Draw the figures of an evaluated `cortexkit train` run and write ``RUN/report.html``."""
    run_dir = Path(run_dir)
    raw = read_run_record(run_dir, required=("training",))
    results = read_table(run_dir / "results.csv")
    summary = read_table(run_dir / "summary.csv")
    fig_dir = run_dir / FIGURES_DIR
    items = []
    checkpoint = run_dir / "checkpoint.pt"
    if checkpoint.is_file():
        saved = load_checkpoint(checkpoint)
        items.append((save_figure(figures.training_curve(saved["history"], saved.get("best_epoch")), fig_dir / "training_curve.png"),
                      "Training loss and validation correlation (median over units of the held-out part of the "
                      "training stimuli) per epoch; early stopping and learning-rate decay follow the validation score."))
    metric = "feve" if results["feve"].notna().any() else "pearson"
    items.append((save_figure(figures.metric_by_model(results.assign(model=results["session"].astype(str)), metric),
                        fig_dir / f"{metric}_by_session.png"),
                  f"{figures.METRIC_LABELS[metric]} of every unit on the test set, per session."))
    if {"readout_x", "rf_x", "rf_position_error_px"} <= set(results.columns):
        for spec in raw["training"]["data"]:
            frame = results[results["session"].astype(str) == str(spec["key"])]
            if frame.empty or frame["rf_position_error_px"].isna().all():
                continue
            ds = data.load(spec["path"])
            fig = figures.readout_positions(frame, ds.sizes["y"], ds.sizes["x"])
            items.append((save_figure(fig, fig_dir / f"readout_positions_{spec['key']}.png"),
                          f"Session {spec['key']}: each unit's learned Gaussian readout position (red) joined to its "
                          "true receptive-field centre (black), known in a simulation."))
    weight = _first_convolution(run_dir / "model.pt")
    if weight is not None:
        kind = "spatio-temporal (one column per frame of the kernel)" if weight.ndim == 5 else "spatial"
        items.append((save_figure(figures.first_layer_filters(weight), fig_dir / "first_layer_filters.png"),
                      f"The core's first-layer {kind} filters after training, one row per channel (the first 16; "
                      "input channels averaged; red positive, blue negative, each row on its own scale)."))
    body = ["<h2>Summary (medians over units, test set)</h2>", table_html(summary.rename(columns=SUMMARY_HEADERS)),
            "<p>r: Pearson r against the repeat-averaged test responses (per frame for time-resolved data); "
            "ceiling: split-half reliability (the ceiling of r²); r²/ceiling: sign(r)·r²/ceiling; FEVE: fraction of "
            "explainable variance explained; RF error (px): distance between the learned readout position and the "
            "true RF centre.</p>",
            "<h2>Figures</h2>"]
    body += [figure_html(src, caption) for src, caption in items]
    body.append('<p>Per-unit results: <a href="results.csv">results.csv</a>.</p>')
    body.append(config_html(raw))
    return write_page(run_dir / REPORT_FILE, f"cortexkit trained predictor: {run_dir.name}", body)


def _first_convolution(path: Path):
    """The weight (out, in, [time,] y, x) of the core's first convolution in a saved model, or None (no
    convolutional core, an ensemble, or no model file)."""
    import torch

    if not path.is_file():
        return None
    saved = torch.load(path, map_location="cpu", weights_only=False)
    for name, value in (saved.get("state") or {}).items():
        if name.startswith("core.") and name.endswith("weight") and getattr(value, "ndim", 0) in (4, 5) \
                and min(value.shape[-2:]) > 1:
            return value.numpy()
    return None
