"""The HTML report of a ridge encoding run: summary table, figures, dataset and configuration."""

from __future__ import annotations

import html
import os
from pathlib import Path

import numpy as np
import pandas as pd

from cortexkit import data
from cortexkit.evaluation import (MODELS_DIR, RESULTS_FILE, SUMMARY_FILE, headline_models, load_arrays, read_run_record,
                                  read_table)
from cortexkit.report import figures
from cortexkit.terminal import SUMMARY_HEADERS
from cortexkit.report.page import (FIGURES_DIR, REPORT_FILE, config_html, facts_html, figure_html, save_figure,
                                   table_html, write_page)

def write_report(run_dir: str | os.PathLike) -> Path:
    """Draw the figures of an evaluated run and write ``RUN/report.html``; returns its path."""
    run_dir = Path(run_dir)
    raw = read_run_record(run_dir, required=("data", "encoding"))
    results = read_table(run_dir / RESULTS_FILE)
    summary = read_table(run_dir / SUMMARY_FILE)
    ds = data.time_bins_as_units(data.load(raw["data"]))
    test = data.select(ds, "test")
    measured = data.repeat_average(test)
    units = np.asarray(ds["unit"].values)
    # CSV round trips turn unit labels into numbers or strings; compare as strings.
    results["unit"] = results["unit"].astype(str)
    units_str = units.astype(str)

    headline = headline_models(results)
    models = {name: load_arrays(run_dir / MODELS_DIR / f"{name}.npz") for name in headline}
    order = {name: pd.Index(m["stimulus"]).get_indexer(measured["stimulus"].values) for name, m in models.items()}
    predictions = {name: m["prediction"][order[name]] for name, m in models.items()}
    shown = results[results["model"].isin(headline)]

    fig_dir = run_dir / FIGURES_DIR
    items = []
    items.append(
        (
            save_figure(figures.predicted_vs_measured(shown, predictions, measured.values, units_str), fig_dir / "predicted_vs_measured.png"),
            "Predicted vs measured responses to the held-out test stimuli (averaged over repeats), for "
            "each model's best and median unit by Pearson r. Dashed: identity. Axes span the 1st-99th "
            "percentiles of both; points beyond are drawn on the edge and counted in the panel title.",
        )
    )
    if "time_bin" in results and results["time_bin"].nunique() > 1:
        items.append(
            (
                save_figure(figures.score_over_time(results), fig_dir / "r_over_time.png"),
                "Median test Pearson r over units in each time bin of the response (one ridge model per "
                "unit and bin), with the interquartile range shaded: when the stimulus drives the units.",
            )
        )
    if (results["depth"] > 0).any():
        items.append(
            (
                save_figure(figures.score_vs_depth(results), fig_dir / "score_vs_depth.png"),
                "Median test Pearson r over units for every layer of each multi-layer feature space, "
                "by depth; the star marks the layer chosen by cross-validation on the training split "
                "(the one the other figures show).",
            )
        )
    if results["ceiling"].notna().any():
        items.append(
            (
                save_figure(figures.score_vs_ceiling(shown), fig_dir / "score_vs_ceiling.png"),
                "Each unit's test Pearson r against sqrt(ceiling), where ceiling is the noise ceiling of its "
                "repeat-averaged responses (the ceiling of r², as in the table: NSD's NCSNR-based ceiling for "
                "fMRI, else the Spearman-Brown-corrected split-half reliability). Units on the dashed line are "
                "predicted as well as their noise allows.",
            )
        )
    areas = results["area"].nunique() if "area" in results else 0
    if areas > 1:
        for space in dict.fromkeys(results.loc[results["depth"] > 0, "feature_space"]):
            items.append(
                (
                    save_figure(figures.layer_profile_by_area(results, space), fig_dir / f"layers_by_area_{space}.png"),
                    f"Median test Pearson r per {space} layer in each area (brain region); the star marks "
                    "the layer chosen for each area by cross-validation on the training split. Regions "
                    "higher in the visual hierarchy should peak later.",
                )
            )
    if areas > 1 and {"flat_x", "flat_y"} <= set(results.columns):
        metric = "normalized" if results["normalized"].notna().any() else "pearson"
        for name in headline:
            items.append(
                (
                    save_figure(figures.flat_maps(results, name, metric), fig_dir / f"flat_maps_{name}.png"),
                    f"{name}: each voxel's {figures.METRIC_LABELS.get(metric, metric)} on its area's flat map "
                    "(voxels laid out by population receptive-field position, rows by elevation).",
                )
            )
    metric = "feve" if results["feve"].notna().any() else "pearson"
    items.append(
        (
            save_figure(figures.metric_by_model(shown, metric), fig_dir / f"{metric}_by_model.png"),
            f"Distribution of {metric.upper() if metric == 'feve' else metric} over units, per model"
            + (" and cell type." if "cell_type" in results else "."),
        )
    )
    if "true_filter" in ds:
        for name, m in models.items():
            if "receptive_field" not in m or "rf_corr" not in results:
                continue
            res = results[results["model"] == name]
            keep = (res["cell_type"] == "simple").to_numpy() if "cell_type" in res else np.ones(len(res), bool)
            if not keep.any():
                continue
            corr = res["rf_corr"].to_numpy()
            fig = figures.receptive_fields(
                ds["true_filter"].values[keep], m["receptive_field"][keep], corr[keep], units[keep], name
            )
            items.append(
                (
                    save_figure(fig, fig_dir / f"receptive_fields_{name}.png"),
                    f"True Gabor filters of simulated simple cells (top) and the receptive fields "
                    f"recovered from the {name} ridge weights (bottom), for units spread over the range "
                    f"of recovery quality (|r| between the two).",
                )
            )

    n_rep = data.repeat_counts(test).values
    facts = [
        ("data", raw["data"]),
        ("source", ds.attrs.get("source", "?")),
        ("modality", ds.attrs.get("modality", "?")),
        ("units", ds.sizes["unit"]),
        ("train stimuli", int((ds["split"].values == "train").sum())),
        ("test stimuli", int((ds["split"].values == "test").sum())),
        ("repeats per test stimulus", f"{n_rep.min()}-{n_rep.max()}" if n_rep.min() != n_rep.max() else n_rep.min()),
        ("feature spaces", ", ".join(dict.fromkeys(results["feature_space"]))),
    ]
    body = ["<h2>Dataset</h2>", facts_html(facts), "<h2>Summary (medians over units, test set)</h2>",
            table_html(summary.rename(columns=SUMMARY_HEADERS))]
    if len(headline) < results["model"].nunique():
        body.append(f"<p>Figures show each single-layer model and, of each multi-layer one, the layer with the best "
                    f"median cross-validated score on the training split: "
                    f"{html.escape(', '.join(headline))}.</p>")
    body.append(
        "<p>r: Pearson r against the repeat-averaged test responses; scored: units with a score (the "
        "medians cover these); ceiling: the noise ceiling of r² (fMRI: NSD's ncsnr² / (ncsnr² + mean 1/n); "
        "otherwise the Spearman-Brown-corrected split-half reliability); r²/ceiling: sign(r) r²/ceiling, capped at ±1; FEVE/FEV: fraction of explainable variance "
        "explained / explainable (neuralpredictors); r (truth): r against the noise-free rates "
        "(simulations only); RF |r|: |r| between recovered and true filters. Column names in "
        "summary.csv: median_pearson, median_ceiling, median_normalized, ...</p>"
    )
    body.append("<h2>Figures</h2>")
    body += [figure_html(src, caption) for src, caption in items]
    body.append(f'<p>Per-unit results: <a href="{RESULTS_FILE}">{RESULTS_FILE}</a>; '
                f'summary: <a href="{SUMMARY_FILE}">{SUMMARY_FILE}</a>.</p>')
    body.append(config_html(raw))
    return write_page(run_dir / REPORT_FILE, f"cortexkit encoding report: {Path(raw['data']).name}", body)
