"""Figures of an encoding run. Each function draws one figure and returns it (not saved)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # files only; never needs a display

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from cortexkit.evaluation.selection import choose_model  # noqa: E402

CELL_COLORS = {"simple": "tab:blue", "complex": "tab:orange"}


def _colors(frame: pd.DataFrame):
    if "cell_type" in frame:
        return [CELL_COLORS.get(c, "tab:gray") for c in frame["cell_type"]]
    return "tab:blue"


def _legend_by_type(ax, frame: pd.DataFrame):
    if "cell_type" not in frame:
        return
    for name in frame["cell_type"].unique():
        ax.scatter([], [], color=CELL_COLORS.get(name, "tab:gray"), label=name, s=12)
    ax.legend(frameon=False, fontsize=8, loc="lower right")


def predicted_vs_measured(
    results: pd.DataFrame, predictions: dict[str, np.ndarray], measured: np.ndarray, unit_labels: np.ndarray
):
    """Scatter of predicted vs repeat-averaged measured responses on the test stimuli.

    One row per model, for its best unit and its median unit by Pearson r.

    Parameters
    ----------
    predictions : {model: (stimulus, unit)}, rows aligned with ``measured``
    measured : (stimulus, unit) repeat-averaged test responses
    unit_labels : labels along the unit axis
    """
    models = list(predictions)
    fig, axes = plt.subplots(len(models), 2, figsize=(7, 3.2 * len(models)), squeeze=False)
    pos = {u: i for i, u in enumerate(unit_labels.tolist())}
    for row, model in enumerate(models):
        res = results[results["model"] == model].dropna(subset=["pearson"]).sort_values("pearson")
        if res.empty:  # no unit scored (constant predictions or responses): say so instead of a scatter
            for col in range(2):
                axes[row, col].text(0.5, 0.5, f"{model}: no unit scored", ha="center", va="center", fontsize=9)
                axes[row, col].set_axis_off()
            continue
        picks = {"best unit": res.iloc[-1], "median unit": res.iloc[len(res) // 2]}
        for col, (what, rec) in enumerate(picks.items()):
            ax = axes[row, col]
            i = pos[rec["unit"]]
            y, p = measured[:, i], predictions[model][:, i]
            # Axes span the 1st-99th percentiles (plus a margin), so that one outlying prediction does
            # not squash the rest; points outside are drawn on the edge and counted in the title.
            both = np.concatenate([y, p])
            lo, hi = (float(v) for v in np.nanpercentile(both, [1, 99]))
            pad = 0.05 * (hi - lo or 1.0)
            lo, hi = lo - pad, hi + pad
            outside = int(((y < lo) | (y > hi) | (p < lo) | (p > hi)).sum())
            ax.scatter(np.clip(p, lo, hi), np.clip(y, lo, hi), s=10, alpha=0.7, color="k")
            ax.plot([lo, hi], [lo, hi], color="tab:red", lw=1, ls="--")
            ax.set_xlim(lo, hi)
            ax.set_ylim(lo, hi)
            note = f"\n{outside} point(s) outside the 1-99% range, drawn on the edge" if outside else ""
            ax.set_title(f"{model}: {what} {rec['unit']} (r = {rec['pearson']:.2f}){note}", fontsize=8)
            ax.set_xlabel("predicted")
            ax.set_ylabel("measured (repeat average)")
    fig.tight_layout()
    return fig


def score_vs_ceiling(results: pd.DataFrame):
    """Per-unit Pearson r against sqrt(ceiling), one panel per model.

    ``ceiling`` is the split-half reliability (the ceiling of r², as in every table), so the best r
    a unit allows is sqrt(ceiling); the title gives the median r / sqrt(ceiling).
    """
    models = list(dict.fromkeys(results["model"]))
    fig, axes = plt.subplots(1, len(models), figsize=(3.6 * len(models), 3.6), squeeze=False)
    for ax, model in zip(axes[0], models):
        res = results[results["model"] == model]
        root = np.sqrt(res["ceiling"].clip(lower=0))
        ax.scatter(root, res["pearson"], s=12, c=_colors(res), alpha=0.8)
        ax.plot([0, 1], [0, 1], color="k", lw=1, ls="--")
        # all ceilings high: zoom in, and say that noise does not limit these units
        left = 0.0 if not np.isfinite(root).any() or root.min() < 0.6 else float(root.min()) - 0.05
        ax.set_xlim(left, 1.02)
        if left > 0:
            ax.text(0.03, 0.03, f"every sqrt(ceiling) >= {root.min():.2f}:\nnoise does not limit these units",
                    transform=ax.transAxes, va="bottom", fontsize=7, color="tab:gray")
        ax.set_ylim(min(0.0, float(res["pearson"].min()) - 0.05), 1.02)
        ax.set_xlabel("sqrt(ceiling)  (ceiling = split-half reliability)")
        ax.set_ylabel("Pearson r (test, repeat average)")
        ax.set_title(f"{model}: median r/sqrt(ceiling) {np.nanmedian(res['pearson'] / root):.2f}", fontsize=9)
        _legend_by_type(ax, res)
    fig.tight_layout()
    return fig


# One printed name per metric, as in the summary tables (cortexkit.terminal.SUMMARY_HEADERS).
METRIC_LABELS = {"pearson": "Pearson r", "feve": "FEVE", "fev": "FEV", "r2": "R²", "normalized": "r²/ceiling",
                 "ceiling": "ceiling"}


def metric_by_model(results: pd.DataFrame, metric: str = "feve"):
    """Distribution of one metric per model (and cell type): box plot with the units on top."""
    group = ["model", "cell_type"] if "cell_type" in results else ["model"]
    labels, values = [], []
    for keys, frame in results.groupby(group, sort=False):
        keys = keys if isinstance(keys, tuple) else (keys,)
        labels.append("\n".join(str(k) for k in keys))
        values.append(frame[metric].dropna().to_numpy())
    fig, ax = plt.subplots(figsize=(max(4, 1.3 * len(labels)), 3.6))
    ax.boxplot(values, showfliers=False)
    ax.set_xticks(range(1, len(labels) + 1), labels)
    rng = np.random.default_rng(0)
    for i, v in enumerate(values, start=1):
        ax.scatter(i + rng.uniform(-0.15, 0.15, len(v)), v, s=6, color="k", alpha=0.5)
    ax.axhline(0, color="gray", lw=0.5)
    ax.set_ylabel(METRIC_LABELS.get(metric, metric))
    ax.set_title(f"{METRIC_LABELS.get(metric, metric)} per unit on the test set", fontsize=10)
    fig.tight_layout()
    return fig


def score_over_time(results: pd.DataFrame, metric: str = "pearson"):
    """Median test score over units in each time bin (a ridge model per unit and bin), one line per
    model with its interquartile range shaded: when, after onset, the stimulus explains the responses."""
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    for model, frame in results.groupby("model", sort=False):
        stats = frame.groupby("time", sort=True)[metric].quantile([0.25, 0.5, 0.75]).unstack()
        t = stats.index.to_numpy(float) * 1000.0
        line, = ax.plot(t, stats[0.5], marker="o", ms=3, label=str(model))
        ax.fill_between(t, stats[0.25], stats[0.75], color=line.get_color(), alpha=0.15, lw=0)
    ax.axhline(0, color="0.6", lw=0.8)
    ax.set_xlabel("time bin start (ms from onset)")
    ax.set_ylabel(f"median {METRIC_LABELS.get(metric, metric)} (test)")
    ax.legend(frameon=False, fontsize=8)
    ax.set_title("score over time", fontsize=10)
    fig.tight_layout()
    return fig


def score_vs_depth(results: pd.DataFrame, metric: str = "pearson"):
    """Median test score per layer against layer depth, one line per multi-layer feature space; the
    layer chosen by cross-validation on the training split is marked (the test scores choose nothing)."""
    layered = results[results["depth"] > 0]
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    for space, frame in layered.groupby("feature_space", sort=False):
        med = frame.groupby(["depth", "layer"], sort=True)[metric].median().reset_index()
        line, = ax.plot(med["depth"], med[metric], marker="o", label=space)
        chosen = frame.loc[frame["model"] == choose_model(frame), ["depth", "layer"]].iloc[0]
        y = float(med.loc[med["depth"] == chosen["depth"], metric].iloc[0])
        ax.plot(chosen["depth"], y, marker="*", ms=14, color=line.get_color())
        ax.annotate(str(chosen["layer"]), (chosen["depth"], y), textcoords="offset points", xytext=(4, 6), fontsize=8)
    names = layered.groupby("depth")["layer"].agg(lambda v: "/".join(dict.fromkeys(map(str, v))))
    ax.set_xticks(names.index, names.values, rotation=45 if len(names) > 6 else 0, ha="right" if len(names) > 6 else "center",
                  fontsize=8)  # layer names (several spaces' names joined where they differ)
    ax.set_xlabel("layer")
    ax.set_ylabel(f"median {METRIC_LABELS.get(metric, metric)} (test)")
    ax.legend(frameon=False, fontsize=8)
    ax.set_title("score by layer (star: layer chosen by CV on the training split)", fontsize=10)
    fig.tight_layout()
    return fig


def layer_profile_by_area(results: pd.DataFrame, feature_space: str, metric: str = "pearson"):
    """Median test score per layer of one multi-layer feature space, one line per area (brain
    region), each area's layer chosen by cross-validation on the training split marked: where
    along the network each region is predicted best."""
    frame = results[(results["feature_space"] == feature_space) & (results["depth"] > 0)]
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    names = frame.groupby("depth")["layer"].first()
    for area, part in frame.groupby("area", sort=False):
        med = part.groupby("depth", sort=True)[metric].median()
        line, = ax.plot(med.index, med.values, marker="o", label=str(area))
        depth = int(part.loc[part["model"] == choose_model(part), "depth"].iloc[0])
        ax.plot(depth, med[depth], marker="*", ms=14, color=line.get_color())
    ax.set_xticks(names.index, names.values, fontsize=8)
    ax.set_xlabel(f"{feature_space} layer")
    ax.set_ylabel(f"median {METRIC_LABELS.get(metric, metric)} (test)")
    ax.legend(frameon=False, fontsize=8, title="area", title_fontsize=8)
    ax.set_title(f"{feature_space}: score by layer per area (star: layer chosen by CV)", fontsize=10)
    fig.tight_layout()
    return fig


def flat_maps(results: pd.DataFrame, model: str, metric: str = "pearson"):
    """Each area's voxels on its flat grid (``flat_x``, ``flat_y``), coloured by one model's score."""
    frame = results[results["model"] == model]
    areas = list(dict.fromkeys(frame["area"]))
    values = frame[metric].to_numpy(dtype=float)
    finite = values[np.isfinite(values)]
    lo, hi = (float(np.percentile(finite, 1)), float(np.percentile(finite, 99))) if finite.size else (0.0, 1.0)
    fig, axes = plt.subplots(1, len(areas), figsize=(2.6 * len(areas) + 0.8, 2.9), squeeze=False)
    im = None
    for ax, area in zip(axes[0], areas):
        part = frame[frame["area"] == area]
        fx, fy = part["flat_x"].to_numpy(int), part["flat_y"].to_numpy(int)
        grid = np.full((fy.max() + 1, fx.max() + 1), np.nan)
        grid[fy, fx] = part[metric].to_numpy(dtype=float)
        im = ax.imshow(grid, cmap="viridis", vmin=lo, vmax=hi, origin="lower")
        ax.set_title(f"{area} ({len(part)} voxels)\nmedian {np.nanmedian(grid):.2f}", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(im, ax=list(axes[0]), fraction=0.025, label=METRIC_LABELS.get(metric, metric))
    fig.suptitle(f"{model}: {METRIC_LABELS.get(metric, metric)} per voxel on flat ROI maps", fontsize=10)
    return fig


def similarity_matrix(frame: pd.DataFrame, title: str = ""):
    """Heat map of a square similarity table (CKA / RSA), values written in the cells."""
    n = len(frame)
    fig, ax = plt.subplots(figsize=(1.0 + 0.55 * n, 0.8 + 0.5 * n))
    im = ax.imshow(frame.values, vmin=min(0.0, float(np.nanmin(frame.values))), vmax=1.0, cmap="viridis")
    ax.set_xticks(range(n), frame.columns, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(n), frame.index, fontsize=8)
    if n <= 16:
        for i in range(n):
            for j in range(n):
                ax.text(j, i, f"{frame.values[i, j]:.2f}", ha="center", va="center", fontsize=6,
                        color="white" if frame.values[i, j] < 0.6 else "black")
    fig.colorbar(im, ax=ax, fraction=0.046)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def reconstruction_grid(gt: np.ndarray, recs: dict[str, np.ndarray], n: int = 10):
    """Ground truth in the top row, one row per decoder, the first ``n`` test stimuli as columns."""
    n = min(n, len(gt))
    rows = [("ground truth", gt)] + list(recs.items())
    fig, axes = plt.subplots(len(rows), n, figsize=(1.2 * n, 1.25 * len(rows)), squeeze=False)
    for i, (name, images) in enumerate(rows):
        for j in range(n):
            ax = axes[i, j]
            img = images[j]
            ax.imshow(np.clip(img, 0, 1), cmap="gray" if img.ndim == 2 else None, vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[i, 0].set_ylabel(name, fontsize=8, rotation=0, ha="right", va="center")
    fig.tight_layout()
    return fig


def search_rounds(history: np.ndarray):
    """Critic score of the best candidate per round of brain-optimised search (mean +- SEM)."""
    mean = history.mean(0)
    sem = history.std(0) / np.sqrt(len(history))
    fig, ax = plt.subplots(figsize=(4, 3))
    x = np.arange(1, len(mean) + 1)
    ax.errorbar(x, mean, yerr=sem, marker="o", capsize=3)
    ax.set_xticks(x)
    ax.set_xlabel("search round")
    ax.set_ylabel("encoding-model score\n(r, predicted vs measured)")
    ax.set_title("brain-optimised search", fontsize=10)
    fig.tight_layout()
    return fig


def confusion(matrix: np.ndarray, labels, title: str = ""):
    """Confusion matrix as row fractions (true class per row)."""
    frac = matrix / np.maximum(matrix.sum(1, keepdims=True), 1)
    n = len(labels)
    fig, ax = plt.subplots(figsize=(1.5 + 0.45 * n, 1.2 + 0.45 * n))
    im = ax.imshow(frac, vmin=0, vmax=1, cmap="Blues")
    ax.set_xticks(range(n), [str(v) for v in labels], rotation=45)
    ax.set_yticks(range(n), [str(v) for v in labels])
    ax.set_xlabel("decoded")
    ax.set_ylabel("true")
    for i in range(n):
        for j in range(n):
            ax.text(j, i, int(matrix[i, j]), ha="center", va="center", fontsize=7, color="white" if frac[i, j] > 0.6 else "black")
    fig.colorbar(im, ax=ax, fraction=0.046, label="fraction of row")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def neurometric_curve(curve: dict[float, float], by: str, chance: float):
    """Cross-validated decoding accuracy against a stimulus parameter (e.g. motion coherence)."""
    levels = sorted(curve)
    fig, ax = plt.subplots(figsize=(4.2, 3.2))
    ax.plot(levels, [curve[v] for v in levels], marker="o")
    ax.axhline(chance, color="gray", ls="--", lw=1, label="chance")
    if min(levels) > 0:
        ax.set_xscale("log")
    ax.set_xlabel(by)
    ax.set_ylabel("decoding accuracy (CV)")
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig


def _show_rf(ax, rf: np.ndarray):
    img = rf if rf.ndim == 2 else rf.mean(-1)
    lim = float(np.abs(img).max()) or 1.0
    ax.imshow(img, cmap="RdBu_r", vmin=-lim, vmax=lim)
    ax.set_xticks([])
    ax.set_yticks([])


def receptive_fields(
    true_filters: np.ndarray, recovered: np.ndarray, corr: np.ndarray, labels: np.ndarray, model: str, n: int = 8
):
    """True vs recovered receptive fields for ``n`` units spread over the range of recovery.

    Units are picked at evenly spaced quantiles of ``corr`` (not the best ones), so the figure shows
    typical recovery.
    """
    order = np.argsort(corr)
    picks = order[np.linspace(0, len(order) - 1, min(n, len(order))).round().astype(int)][::-1]
    fig, axes = plt.subplots(2, len(picks), figsize=(1.5 * len(picks), 3.4), squeeze=False)
    for col, i in enumerate(picks):
        _show_rf(axes[0, col], true_filters[i])
        _show_rf(axes[1, col], recovered[i])
        axes[0, col].set_title(f"unit {labels[i]}", fontsize=8)
        axes[1, col].set_title(f"|r| = {corr[i]:.2f}", fontsize=8)
    axes[0, 0].set_ylabel("true")
    axes[1, 0].set_ylabel(f"recovered\n({model})")
    fig.tight_layout()
    return fig


def training_curve(history: list[dict], best_epoch: int | None = None):
    """Training loss and validation correlation per epoch of a trained predictor."""
    epochs = [h["epoch"] for h in history]
    fig, ax = plt.subplots(figsize=(5.5, 3.4))
    ax.plot(epochs, [h["loss"] for h in history], color="tab:gray", label="training loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss", color="tab:gray")
    if any("val" in h for h in history):
        ax2 = ax.twinx()
        ax2.plot(epochs, [h.get("val", np.nan) for h in history], color="tab:blue", marker="o", ms=3)
        ax2.set_ylabel("validation r", color="tab:blue")
        if best_epoch is not None and best_epoch >= 0:
            ax2.axvline(best_epoch + 1, color="tab:blue", ls="--", lw=0.8)
    ax.set_title("training (dashed: best epoch, the weights kept)", fontsize=10)
    fig.tight_layout()
    return fig


def readout_positions(results: pd.DataFrame, height: int, width: int):
    """Learned readout positions against the known receptive-field centres (simulations)."""
    fig, ax = plt.subplots(figsize=(4.2, 4.2))
    for (tx, ty, lx, ly) in results[["rf_x", "rf_y", "readout_x", "readout_y"]].to_numpy():
        ax.plot([tx, lx], [ty, ly], color="gray", lw=0.6)
    ax.scatter(results["rf_x"], results["rf_y"], s=18, color="k", label="true RF centre")
    ax.scatter(results["readout_x"], results["readout_y"], s=18, facecolors="none", edgecolors="tab:red",
               label="learned position")
    ax.set_xlim(-0.5, width - 0.5)
    ax.set_ylim(height - 0.5, -0.5)  # image rows downwards
    ax.set_aspect("equal")
    ax.set_xlabel("x (pixels)")
    ax.set_ylabel("y (pixels)")
    err = np.median(results["rf_position_error_px"])
    ax.set_title(f"readout positions (median error {err:.2f} px)", fontsize=10)
    ax.legend(frameon=False, fontsize=8, loc="upper right")
    fig.tight_layout()
    return fig


def first_layer_filters(weight: np.ndarray, max_channels: int = 16):
    """A trained core's first convolution (out, in, [time,] y, x) as images: one row per output channel
    (the first ``max_channels``), one column per time step of the kernel (a 2D kernel: one column),
    input channels averaged, each row on its own symmetric colour scale."""
    w = np.asarray(weight, dtype=np.float32)
    if w.ndim == 4:
        w = w[:, :, None]
    w = w[:max_channels].mean(1)  # (channels, time, y, x)
    n, t = w.shape[:2]
    fig, axes = plt.subplots(n, t, figsize=(0.9 * t + 0.6, 0.9 * n + 0.4), squeeze=False)
    for i in range(n):
        lim = float(np.abs(w[i]).max()) or 1.0
        for j in range(t):
            axes[i, j].imshow(w[i, j], cmap="RdBu_r", vmin=-lim, vmax=lim)
            axes[i, j].set_xticks([])
            axes[i, j].set_yticks([])
        axes[i, 0].set_ylabel(str(i), rotation=0, fontsize=7, labelpad=8)
    for j in range(t):
        axes[0, j].set_title(f"t{j}" if t > 1 else "kernel", fontsize=7)
    fig.suptitle("first-layer filters (rows: channels; columns: time)", fontsize=9)
    fig.tight_layout()
    return fig


def paired_scatter(table: pd.DataFrame, label_a: str, label_b: str):
    """Each unit's r under model B (x) against model A (y); units whose bootstrap interval excludes 0
    are filled (above the diagonal: A better)."""
    fig, ax = plt.subplots(figsize=(4.6, 4.4))
    sure = table["a_better"] | table["b_better"]
    ax.scatter(table.loc[~sure, "r_b"], table.loc[~sure, "r_a"], s=14, facecolors="none", edgecolors="gray",
               label="difference within the interval")
    ax.scatter(table.loc[table["a_better"], "r_b"], table.loc[table["a_better"], "r_a"], s=14, color="C0",
               label="A better (interval > 0)")
    ax.scatter(table.loc[table["b_better"], "r_b"], table.loc[table["b_better"], "r_a"], s=14, color="C3",
               label="B better (interval < 0)")
    values = pd.concat([table["r_a"], table["r_b"]]).dropna()
    lo, hi = (float(values.min()), float(values.max())) if len(values) else (0.0, 1.0)
    pad = 0.05 * (hi - lo or 1.0)
    ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], color="k", lw=0.6)
    ax.set_xlim(lo - pad, hi + pad)
    ax.set_ylim(lo - pad, hi + pad)
    ax.set_xlabel(f"B: {label_b} (Pearson r)")
    ax.set_ylabel(f"A: {label_a} (Pearson r)")
    ax.set_title("held-out r per unit", fontsize=10)
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return fig


def score_distributions(scores: dict[str, np.ndarray], label: str):
    """One box per model (rows in the given order, best first) of its per-item scores, with the items
    drawn as jittered points: how a median arises, and how much the models overlap."""
    names = list(scores)
    fig, ax = plt.subplots(figsize=(6.4, 0.45 * len(names) + 1.2))
    values = [np.asarray(scores[n], float)[np.isfinite(np.asarray(scores[n], float))] for n in names]
    positions = np.arange(len(names))[::-1]
    # matplotlib 3.10 renamed vert=False to orientation="horizontal"
    horizontal = {"orientation": "horizontal"} if tuple(map(int, matplotlib.__version__.split(".")[:2])) >= (3, 10) \
        else {"vert": False}
    ax.boxplot(values, positions=positions, widths=0.6, showfliers=False, **horizontal)
    rng = np.random.default_rng(0)
    for pos, v in zip(positions, values):
        ax.scatter(v, pos + rng.uniform(-0.18, 0.18, len(v)), s=5, alpha=0.4, color="C0")
    ax.set_yticks(positions)
    ax.set_yticklabels(names, fontsize=8)
    ax.set_xlabel(label)
    ax.axvline(0, color="k", lw=0.5)
    fig.tight_layout()
    return fig


def mei_grid(meis: np.ndarray, units, top: np.ndarray, ratios, n: int = 12, video: bool = False):
    """One row per unit (the first ``n``): its most exciting input, then its most exciting
    images of the recording, best first; the title gives the MEI's predicted response relative to
    the best image's (movies: their middle frame)."""
    n = min(n, len(meis))
    k = top.shape[1]
    fig, axes = plt.subplots(n, k + 1, figsize=(1.3 * (k + 1), 1.35 * n + 0.3), squeeze=False)
    for row in range(n):
        images = [meis[row], *top[row]]
        for col, image in enumerate(images):
            ax = axes[row, col]
            image = _frame(image, video)
            ax.imshow(np.clip(image, 0, 1), cmap="gray" if image.ndim == 2 else None, vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if row == 0:
                ax.set_title("MEI" if col == 0 else f"image #{col}", fontsize=8)
        axes[row, 0].set_ylabel(f"{units[row]}\nx{ratios[row]:.1f}", fontsize=7)
    fig.tight_layout()
    return fig


def mei_pairs(ours: np.ndarray, theirs: np.ndarray, units, labels: tuple[str, str], cross_ab, cross_ba, n: int = 12,
              video: bool = False):
    """Two models' most exciting inputs of the same units side by side, a column per unit: the first
    model's MEI above the second's; each label gives how much the other model responds to that MEI
    (a fraction of its response to its own MEI)."""
    n = min(n, len(ours))
    fig, axes = plt.subplots(2, n, figsize=(1.45 * n + 1.2, 3.3), squeeze=False)
    for col in range(n):
        for row, (images, cross) in enumerate(((ours, cross_ab), (theirs, cross_ba))):
            ax = axes[row, col]
            image = _frame(images[col], video)
            ax.imshow(np.clip(image, 0, 1), cmap="gray" if image.ndim == 2 else None, vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_xlabel(f"other: {cross[col]:.2f}", fontsize=7)
        axes[0, col].set_title(str(units[col]), fontsize=8)
    for row, label in enumerate(labels):
        axes[row, 0].set_ylabel(label, fontsize=7)
    fig.tight_layout()
    return fig


def _frame(stimulus: np.ndarray, video: bool) -> np.ndarray:
    """What to draw of a stimulus: itself, or a movie's middle frame."""
    return stimulus[len(stimulus) // 2] if video else stimulus


def diverse_grid(meis: np.ndarray, diverse: np.ndarray, units, similarity, fractions, n: int = 12,
                 video: bool = False):
    """One row per unit (the first ``n``): its MEI, then its diverse exciting inputs; the label gives
    the images' mean pairwise similarity (1: one solution; low: the unit is invariant to what
    differs) and each title the image's response as a fraction of the MEI's."""
    n = min(n, len(meis))
    k = diverse.shape[1]
    fig, axes = plt.subplots(n, k + 1, figsize=(1.3 * (k + 1), 1.35 * n + 0.3), squeeze=False)
    for row in range(n):
        for col, image in enumerate([meis[row], *diverse[row]]):
            ax = axes[row, col]
            image = _frame(image, video)
            ax.imshow(np.clip(image, 0, 1), cmap="gray" if image.ndim == 2 else None, vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if col:
                ax.set_title(f"{fractions[row][col - 1]:.2f}", fontsize=7)
            elif row == 0:
                ax.set_title("MEI", fontsize=8)
        axes[row, 0].set_ylabel(f"{units[row]}\nsim {similarity[row]:.2f}", fontsize=7)
    fig.tight_layout()
    return fig


def tuning_curves(responses: pd.DataFrame, preferred: pd.DataFrame, parameter: str = "orientation", n: int = 16):
    """Tuning curves over ``parameter`` (``orientation``: maximum over wavelength and phase;
    ``direction``: at the preferred wavelength and temporal frequency, mean over phase) of the first
    ``n`` units, each scaled to its peak, with the preference marked."""
    units = list(preferred["unit"])[:n]
    cols = min(4, len(units))
    rows = int(np.ceil(len(units) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(2.2 * cols, 1.7 * rows), squeeze=False, sharex=True)
    for ax, unit in zip(axes.ravel(), units):
        mine = responses[responses["unit"] == unit]
        best = preferred.loc[preferred["unit"] == unit].iloc[0]
        if parameter == "direction":
            mine = mine[(mine["wavelength"] == best["wavelength"]) & (mine["temporal_frequency"] == best["temporal_frequency"])]
            curve = mine.groupby(parameter)["response"].mean()
        else:
            curve = mine.groupby(parameter)["response"].max()
        ax.plot(curve.index, curve.to_numpy() / (np.abs(curve).max() or 1.0), "-o", ms=2.5)
        ax.axvline(best[parameter], color="C3", lw=0.8)
        ax.set_title(str(unit), fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in axes.ravel()[len(units):]:
        ax.axis("off")
    for ax in axes[-1]:
        ax.set_xlabel(f"{parameter} (deg)", fontsize=8)
    fig.tight_layout()
    return fig


def receptive_field_maps(units, sparse_noise: np.ndarray, gradient: np.ndarray | None = None, n: int = 12):
    """Per unit (the first ``n``, one column each): the sparse-noise ON minus OFF map (red: brighter
    excites) and, for differentiable models, the response gradient at mean grey (luminance)."""
    n = min(n, len(units))
    rows = 1 if gradient is None else 2
    fig, axes = plt.subplots(rows, n, figsize=(1.2 * n + 0.4, 1.3 * rows + 0.3), squeeze=False)
    for col in range(n):
        on_off = sparse_noise[col, 0] - sparse_noise[col, 1]
        maps = [("ON - OFF", on_off)]
        if gradient is not None:
            g = gradient[col]
            maps.append(("gradient", g.mean(-1) if g.ndim == 3 else g))
        for row, (label, m) in enumerate(maps):
            ax = axes[row, col]
            lim = np.abs(m).max() or 1.0
            ax.imshow(m, cmap="RdBu_r", vmin=-lim, vmax=lim)
            ax.set_xticks([])
            ax.set_yticks([])
            if col == 0:
                ax.set_ylabel(label, fontsize=7)
        axes[0, col].set_title(str(units[col]), fontsize=7)
    fig.tight_layout()
    return fig
