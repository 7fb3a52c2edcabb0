"""The pages of the analyses (``cortexkit analyze``): a figure and the tables of each."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from cortexkit.report.page import FIGURES_DIR, REPORT_FILE, figure_html, save_figure, table_html, write_page  # noqa: E402


def partition_figure(tables: dict[str, pd.DataFrame]):
    """Mean of each region over units with its test-stimulus interval; beside it, each unit's
    estimate against the truth where the store has one, else the distribution over units."""
    summary, per_unit = tables["summary"], tables["partition"]
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    x = np.arange(len(summary))
    colors = ["C0" if s == 1 else "C1" for s in summary["spaces"]]
    ax.bar(x, summary["mean r2"], color=colors)
    ax.errorbar(x, summary["mean r2"], yerr=[summary["mean r2"] - summary["ci_low"], summary["ci_high"] - summary["mean r2"]],
                fmt="none", ecolor="k", capsize=3)
    if "truth mean" in summary:
        ax.scatter(x, summary["truth mean"], marker="_", s=400, color="crimson", zorder=3, label="truth")
        ax.legend(frameon=False, fontsize=8)
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xticks(x, summary["region"], rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("test R² (mean over units)")
    ax.set_title("unique (blue) and shared (orange) variance, 95% CI", fontsize=9)
    if "truth" in per_unit and per_unit["truth"].notna().any():
        for name, frame in per_unit.groupby("region", sort=False):
            ax2.scatter(frame["truth"], frame["r2"], s=12, label=name)
        lim = [min(0, per_unit["r2"].min()), max(per_unit["truth"].max(), per_unit["r2"].max()) * 1.05]
        ax2.plot(lim, lim, "k--", lw=0.8)
        ax2.set_xlabel("true R² of the region")
        ax2.set_ylabel("estimated")
        ax2.set_title("each unit: estimate against the truth", fontsize=9)
    else:
        names = list(dict.fromkeys(per_unit["region"]))
        ax2.boxplot([per_unit.loc[per_unit["region"] == n, "r2"].dropna().values for n in names])
        ax2.set_xticks(range(1, len(names) + 1), names)
        ax2.axhline(0, color="k", lw=0.8)
        ax2.tick_params(axis="x", rotation=30, labelsize=8)
        ax2.set_ylabel("test R² per unit")
        ax2.set_title("regions over units (below 0: noise of the differences)", fontsize=9)
    ax2.legend(frameon=False, fontsize=7) if ax2.get_legend_handles_labels()[0] else None
    fig.tight_layout()
    return fig


def write_partition_report(tables: dict[str, pd.DataFrame], out: str | os.PathLike, title: str = "") -> Path:
    """``OUT/figures/partition.png`` and ``OUT/report.html`` of :func:`cortexkit.pipelines.run_partition`."""
    out = Path(out)
    src = save_figure(partition_figure(tables), out / FIGURES_DIR / "partition.png")
    body = [figure_html(src, "Variance of the test responses explained uniquely by each feature space and shared by "
                             "several, from joint fits of every subset (set-theoretic partition)."),
            "<h2>Regions</h2>", table_html(tables["summary"]),
            "<p>Regions are differences of test R² between fits; a negative value or a joint fit below one of its "
            "parts (the last column) is estimation noise or a regularisation the search did not find, not an error.</p>",
            "<h2>Every subset's fit (medians over units)</h2>",
            table_html(tables["subsets"].groupby("subset", sort=False)[["r2", "pearson"]].median().reset_index())]
    return write_page(out / REPORT_FILE, title or "cortexkit variance partitioning", body)


def width_figure(table: pd.DataFrame):
    """Median r (with its interval) against the last layer's width, log axis, saturation marked;
    beside it, the same scores against the features' effective dimensionality."""
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    ax.fill_between(table["width"], table["ci_low"], table["ci_high"], color="C0", alpha=0.25, lw=0)
    ax.plot(table["width"], table["median r"], "o-", color="C0", label="median r (95% CI over test stimuli)")
    if table["r2/ceiling"].notna().any():
        ax.plot(table["width"], table["r2/ceiling"], "s--", color="C2", label="median r²/ceiling")
    knee = table.attrs.get("saturation")
    if knee is not None:
        ax.axvline(knee, color="k", ls=":", lw=1, label=f"saturation width {knee}")
    ax.set_xscale("log")
    ax.set_xlabel("channels of the last layer")
    ax.set_ylabel("test score")
    ax.legend(frameon=False, fontsize=8)
    ax.set_title("expansion model: score against width", fontsize=9)
    for column, color in (("effective dim", "C1"), ("effective dim (z-scored)", "C3")):
        ax2.plot(table[column], table["median r"], "o-", color=color, label=column)
        for _, row in table.iterrows():
            ax2.annotate(str(int(row["width"])), (row[column], row["median r"]), fontsize=7,
                         textcoords="offset points", xytext=(3, -8))
    ax2.legend(frameon=False, fontsize=8)
    ax2.set_xscale("log")
    ax2.set_xlabel("effective dimensionality of the training features (participation ratio)")
    ax2.set_ylabel("median r")
    ax2.set_title("score against effective dimensionality (labels: width)", fontsize=9)
    fig.tight_layout()
    return fig


def write_width_report(tables: dict[str, pd.DataFrame], out: str | os.PathLike) -> Path:
    """``OUT/figures/widths.png`` and ``OUT/report.html`` of :func:`cortexkit.pipelines.run_width_sweep`."""
    out = Path(out)
    table = tables["widths"]
    src = save_figure(width_figure(table), out / FIGURES_DIR / "widths.png")
    per_recording = tables["units"].groupby(["recording", "width"])["pearson"].median().unstack("width")
    body = [figure_html(src, "Encoding score of the untrained expansion model as its last layer widens (nested "
                             "random channels, a ridge per width with alphas chosen by CV on the training stimuli)."),
            f"<p>Saturation width: {table.attrs.get('saturation')}</p>", table_html(table),
            "<h2>Median r per recording</h2>", table_html(per_recording.reset_index())]
    return write_page(out / REPORT_FILE, "cortexkit expansion width sweep", body)


def delays_figure(tables: dict[str, pd.DataFrame], per_unit_share: np.ndarray | None = None):
    """Share of the weights' energy per delay (mean over units) with the true response where known,
    and the cross-validated score of each delay alone."""
    table = tables["delays"]
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
    ax.bar(table["delay"], table["weight share"], color="C0", label="weight energy share (mean over units)")
    if "true response" in table:
        ax.plot(table["delay"], table["true response"], "o-", color="crimson", label="true response (normalised)")
    recovered = table.attrs.get("recovered")
    if recovered is not None:
        ax.axvline(recovered, color="k", ls=":", lw=1, label=f"recovered delay {recovered}")
    ax.set_xlabel("delay (samples)")
    ax.legend(frameon=False, fontsize=8)
    ax.set_title("time-delayed model: weights per delay", fontsize=9)
    column = next(c for c in table.columns if c.startswith("single-delay CV"))
    ax2.plot(table["delay"], table[column], "o-", color="C1")
    ax2.axhline(0, color="k", lw=0.8)
    ax2.set_xlabel("delay (samples)")
    ax2.set_ylabel(column.replace("single-delay ", "median "))
    ax2.set_title("each delay alone, cross-validated on the training runs", fontsize=9)
    fig.tight_layout()
    return fig


def write_delays_report(tables: dict[str, pd.DataFrame], out: str | os.PathLike) -> Path:
    """``OUT/figures/delays.png`` and ``OUT/report.html`` of :func:`cortexkit.pipelines.run_delays`."""
    out = Path(out)
    src = save_figure(delays_figure(tables), out / FIGURES_DIR / "delays.png")
    body = [figure_html(src, "Time-delayed encoding: how each unit's weights spread over the delays, and what each "
                             "delay alone predicts."),
            f"<p>Recovered delay (most weight energy): {tables['delays'].attrs.get('recovered')}</p>",
            table_html(tables["delays"]), "<h2>Test scores</h2>", table_html(tables["summary"])]
    return write_page(out / REPORT_FILE, "cortexkit time-delayed encoding", body)


def alignment_figure(means: pd.DataFrame):
    """2-way identification and top-1 retrieval of the new subject against the number of its training
    images (means over repeats; 2-way with its SD): aligned to the shared model, fine-tuned after,
    a model of its own, and the pooled model as a line."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    pooled = means[means["model"] == "pooled"].iloc[0]
    for ax, column, chance in ((axes[0], "2way", 0.5), (axes[1], "top1", None)):
        for name, color in (("aligned", "C0"), ("fine-tuned", "C2"), ("own", "C1")):
            part = means[means["model"] == name]
            sd = part["2way sd"].fillna(0) if column == "2way" else None
            ax.errorbar(part["images"], part[column], yerr=sd, fmt="o-", color=color, capsize=3, label=name)
        ax.axhline(pooled[column], color="k", ls="--", lw=1, label=f"pooled (all {int(pooled['images'])} images)")
        if chance is not None:
            ax.axhline(chance, color="0.6", ls=":", lw=1, label="chance")
        ax.set_xscale("log")
        ticks = sorted(set(means["images"].astype(int)))
        ax.set_xticks(ticks, [str(t) for t in ticks])
        ax.minorticks_off()
        ax.set_xlabel("training images of the new subject")
        ax.set_ylabel(column)
        ax.legend(frameon=False, fontsize=8)
    axes[0].set_title("2-way identification on the new subject's test stimuli", fontsize=9)
    axes[1].set_title("top-1 retrieval among the test stimuli", fontsize=9)
    fig.tight_layout()
    return fig


def write_alignment_report(tables: dict[str, pd.DataFrame], out: str | os.PathLike) -> Path:
    """``OUT/figures/alignment.png`` and ``OUT/report.html`` of :func:`cortexkit.pipelines.analyses.run_alignment`."""
    out = Path(out)
    src = save_figure(alignment_figure(tables["means"]), out / FIGURES_DIR / "alignment.png")
    body = [figure_html(src, "A new subject aligned to a shared model (only its linear adapter trained) against a "
                             "model of its own, by the number of its training images."),
            "<h2>Data needed to reach the pooled model</h2>", table_html(tables["summary"]),
            "<h2>Means over repeats</h2>", table_html(tables["means"]),
            "<h2>Every model and repeat</h2>", table_html(tables["alignment"])]
    return write_page(out / REPORT_FILE, "cortexkit shared-subject alignment", body)
