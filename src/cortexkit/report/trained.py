"""The HTML report of a trained-predictor run: scores per session, training curve, readout positions."""

from __future__ import annotations

import html
import os
from pathlib import Path

import yaml

from cortexkit import data
from cortexkit._atomic import write_text
from cortexkit.config import load_yaml
from cortexkit.report import figures
from cortexkit.report.html import _CSS, FIGURES_DIR, REPORT_FILE, _read_csv, _save
from cortexkit.training import load_checkpoint


def write_predictor_report(run_dir: str | os.PathLike) -> Path:
    """Draw the figures of an evaluated `cortexkit train` run and write ``RUN/report.html``."""
    run_dir = Path(run_dir)
    raw = load_yaml(run_dir / "config.yaml")
    results = _read_csv(run_dir / "results.csv")
    summary = _read_csv(run_dir / "summary.csv")
    fig_dir = run_dir / FIGURES_DIR
    items = []
    checkpoint = run_dir / "checkpoint.pt"
    if checkpoint.is_file():
        saved = load_checkpoint(checkpoint)
        items.append((_save(figures.training_curve(saved["history"], saved.get("best_epoch")), fig_dir / "training_curve.png"),
                      "Training loss and validation correlation (median over units of the held-out part of the "
                      "training stimuli) per epoch; early stopping and learning-rate decay follow the validation score."))
    metric = "feve" if results["feve"].notna().any() else "pearson"
    items.append((_save(figures.metric_by_model(results.assign(model=results["session"].astype(str)), metric),
                        fig_dir / f"{metric}_by_session.png"),
                  f"{metric.upper() if metric == 'feve' else metric} of every unit on the test set, per session."))
    if {"readout_x", "rf_x", "rf_position_error_px"} <= set(results.columns):
        for spec in raw["training"]["data"]:
            frame = results[results["session"].astype(str) == str(spec["key"])]
            if frame.empty or frame["rf_position_error_px"].isna().all():
                continue
            ds = data.load(spec["path"])
            fig = figures.readout_positions(frame, ds.sizes["y"], ds.sizes["x"])
            items.append((_save(fig, fig_dir / f"readout_positions_{spec['key']}.png"),
                          f"Session {spec['key']}: each unit's learned Gaussian readout position (red) joined to its "
                          "true receptive-field centre (black), known in a simulation."))
    title = f"cortexkit trained predictor: {html.escape(run_dir.name)}"
    body = [f"<h1>{title}</h1>", "<h2>Summary (medians over units, test set)</h2>",
            summary.to_html(index=False, float_format=lambda v: f"{v:.3f}", border=0),
            "<p>pearson: r against the repeat-averaged test responses (per frame for time-resolved data); "
            "ceiling: split-half reliability; normalized: r²/ceiling; FEVE: fraction of explainable variance "
            "explained; rf_position_error_px: distance between learned readout position and true RF centre.</p>",
            "<h2>Figures</h2>"]
    for src, caption in items:
        body.append(f'<figure><img src="{src}" alt="{html.escape(caption[:60])}"><figcaption>{html.escape(caption)}</figcaption></figure>')
    body.append('<p>Per-unit results: <a href="results.csv">results.csv</a>.</p>')
    body.append("<h2>Configuration</h2><pre>" + html.escape(yaml.safe_dump(raw, sort_keys=False)) + "</pre>")
    page = f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title><style>{_CSS}</style></head><body>{''.join(body)}</body></html>"
    return write_text(run_dir / REPORT_FILE, page)
