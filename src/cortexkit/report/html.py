"""The HTML report of an encoding run: summary table, figures, dataset and configuration."""

from __future__ import annotations

import html
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import yaml

from cortexkit import data
from cortexkit._atomic import atomic_path, write_text
from cortexkit.benchmarks.runner import (
    MODELS_DIR,
    RESULTS_FILE,
    SUMMARY_FILE,
    load_model,
    read_run_config,
)
from cortexkit.errors import DataError
from cortexkit.report import figures

REPORT_FILE = "report.html"
FIGURES_DIR = "figures"

_CSS = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; color: #222; }
table { border-collapse: collapse; font-size: 0.9em; }
th, td { padding: 0.3em 0.7em; border-bottom: 1px solid #ddd; text-align: right; }
th { background: #f4f4f4; }
td:first-child, th:first-child { text-align: left; }
figure { margin: 1.5em 0; } figcaption { color: #555; font-size: 0.9em; }
img { max-width: 100%; } pre { background: #f7f7f7; padding: 1em; overflow-x: auto; font-size: 0.8em; }
"""


def _save(fig, path: Path) -> str:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return f"{FIGURES_DIR}/{path.name}"


def _read_csv(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise DataError("missing; run `cortexkit evaluate` on this run first", source=str(path))
    return pd.read_csv(path)


def headline_models(results: pd.DataFrame) -> list[str]:
    """Single-layer models, and the best layer (median Pearson r) of each multi-layer feature space."""
    out = []
    for space, frame in results.groupby("feature_space", sort=False):
        medians = frame.groupby("model", sort=False)["pearson"].median()
        out.append(medians.idxmax() if len(medians) > 1 else medians.index[0])
    return out


def write_report(run_dir: str | os.PathLike) -> Path:
    """Draw the figures of an evaluated run and write ``RUN/report.html``; returns its path."""
    run_dir = Path(run_dir)
    raw, config = read_run_config(run_dir)
    results = _read_csv(run_dir / RESULTS_FILE)
    summary = _read_csv(run_dir / SUMMARY_FILE)
    ds = data.load(raw["data"])
    test = data.select(ds, "test")
    measured = data.repeat_average(test)
    units = np.asarray(ds["unit"].values)
    # CSV round trips turn unit labels into numbers or strings; compare as strings.
    results["unit"] = results["unit"].astype(str)
    units_str = units.astype(str)

    headline = headline_models(results)
    models = {name: load_model(run_dir / MODELS_DIR / f"{name}.npz") for name in headline}
    order = {name: pd.Index(m["stimulus"]).get_indexer(measured["stimulus"].values) for name, m in models.items()}
    predictions = {name: m["prediction"][order[name]] for name, m in models.items()}
    shown = results[results["model"].isin(headline)]

    fig_dir = run_dir / FIGURES_DIR
    items = []
    items.append(
        (
            _save(figures.predicted_vs_measured(shown, predictions, measured.values, units_str), fig_dir / "predicted_vs_measured.png"),
            "Predicted vs measured responses to the held-out test stimuli (averaged over repeats), for "
            "each model's best and median unit by Pearson r. Dashed: identity.",
        )
    )
    if (results["depth"] > 0).any():
        items.append(
            (
                _save(figures.score_vs_depth(results), fig_dir / "score_vs_depth.png"),
                "Median test Pearson r over units for every layer of each multi-layer feature space, "
                "by depth; the best layer is marked.",
            )
        )
    if results["ceiling"].notna().any():
        items.append(
            (
                _save(figures.score_vs_ceiling(shown), fig_dir / "score_vs_ceiling.png"),
                "Each unit's test Pearson r against its noise ceiling, the square root of the "
                "Spearman-Brown-corrected split-half reliability of its repeat-averaged responses. "
                "Units on the dashed line are predicted as well as their noise allows.",
            )
        )
    metric = "feve" if results["feve"].notna().any() else "pearson"
    items.append(
        (
            _save(figures.metric_by_model(shown, metric), fig_dir / f"{metric}_by_model.png"),
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
                    _save(fig, fig_dir / f"receptive_fields_{name}.png"),
                    f"True Gabor filters of simulated simple cells (top) and the receptive fields "
                    f"recovered from the {name} ridge weights (bottom), for units spread over the range "
                    f"of recovery quality (|r| between the two).",
                )
            )

    title = f"cortexkit encoding report: {html.escape(Path(raw['data']).name)}"
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
    body = [f"<h1>{title}</h1>", "<h2>Dataset</h2><table>"]
    body += [f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in facts]
    body.append("</table>")
    body.append("<h2>Summary (medians over units, test set)</h2>")
    body.append(summary.to_html(index=False, float_format=lambda v: f"{v:.3f}", border=0))
    if len(headline) < results["model"].nunique():
        body.append(f"<p>Figures show each single-layer model and the best layer of each multi-layer one: "
                    f"{html.escape(', '.join(headline))}.</p>")
    body.append(
        "<p>pearson: r against the repeat-averaged test responses; ceiling: split-half reliability "
        "(Spearman-Brown corrected), the ceiling of r²; normalized: r²/ceiling; FEVE/FEV: fraction of "
        "explainable variance explained / explainable (neuralpredictors); pearson_true: r against the "
        "noise-free rates (simulations only); rf_corr: |r| between recovered and true filters.</p>"
    )
    body.append("<h2>Figures</h2>")
    for src, caption in items:
        body.append(f'<figure><img src="{src}" alt="{html.escape(caption[:60])}"><figcaption>{html.escape(caption)}</figcaption></figure>')
    body.append(f'<p>Per-unit results: <a href="{RESULTS_FILE}">{RESULTS_FILE}</a>; '
                f'summary: <a href="{SUMMARY_FILE}">{SUMMARY_FILE}</a>.</p>')
    body.append("<h2>Configuration</h2><pre>" + html.escape(yaml.safe_dump(raw, sort_keys=False)) + "</pre>")
    page = f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title><style>{_CSS}</style></head><body>{''.join(body)}</body></html>"
    return write_text(run_dir / REPORT_FILE, page)
