"""The page of a two-region comparison: decoding accuracy per parameter and region, encoding, CKA."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from cortexkit.report.page import (FIGURES_DIR, REPORT_FILE, figure_html, save_figure, table_html,  # noqa: E402
                                   write_page)


def write_streams_report(result: dict, out: str | os.PathLike, sentence: str = "") -> Path:
    """Draw ``OUT/figures/streams.png`` (decoding accuracy of each parameter from each region, chance
    dashed, McNemar p over each pair of bars, beside the similarity matrix of regions and model
    layers) and write ``OUT/report.html`` with the tables of :func:`cortexkit.pipelines.run_streams`."""
    decoding, comparisons, areas = result["decoding"], result["comparisons"], result["areas"]
    params = list(dict.fromkeys(decoding["parameter"])) if len(decoding) else []
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(5 + 1.6 * len(params), 4.2), gridspec_kw={"width_ratios": [1.3, 1]})
    width = 0.8 / len(areas)
    for j, area in enumerate(areas):
        acc = [float(decoding[(decoding["parameter"] == p) & (decoding["area"] == area)]["accuracy"].iloc[0]) for p in params]
        ax.bar(np.arange(len(params)) + (j - (len(areas) - 1) / 2) * width, acc, width, label=area)
    for i, p in enumerate(params):
        chance = float(decoding[decoding["parameter"] == p]["chance"].iloc[0])
        ax.plot([i - 0.45, i + 0.45], [chance, chance], "k--", lw=1)
        rows = comparisons[comparisons["parameter"] == p]
        if len(rows) == 1:
            ax.text(i, 1.02, f"p={rows['p_mcnemar'].iloc[0]:.1g}", ha="center", fontsize=8)
    ax.set_xticks(range(len(params)), params, fontsize=8)
    ax.set_ylim(0, 1.1)
    ax.set_ylabel("decoding accuracy (cross-validated)")
    if params:
        ax.legend(frameon=False, fontsize=8)
    else:  # a store without stimulus parameters: nothing was decoded
        ax.text(0.5, 0.5, "no stimulus parameters to decode", ha="center", va="center", transform=ax.transAxes)
    ax.set_title("decoding per region (dashed: chance; p: McNemar)", fontsize=9)
    sim = result["similarity"]
    im = ax2.imshow(sim.values, vmin=min(0.0, float(np.nanmin(sim.values))), vmax=1, cmap="viridis")  # RSA can be < 0
    ax2.set_xticks(range(len(sim)), sim.columns, rotation=60, ha="right", fontsize=7)
    ax2.set_yticks(range(len(sim)), sim.index, fontsize=7)
    ax2.set_title("RSA (Spearman of RDMs)" if result.get("similarity_method") == "rsa" else "linear CKA", fontsize=9)
    fig.colorbar(im, ax=ax2, fraction=0.046)
    fig.tight_layout()
    out = Path(out)
    src = save_figure(fig, out / FIGURES_DIR / "streams.png")
    body = [f"<p><b>{sentence}</b></p>" if sentence else "",
            figure_html(src, "Decoding accuracy per parameter and region, and the similarity of regions and models."),
            "<h2>Decoding per region</h2>", table_html(result["comparisons"]) if len(result["comparisons"]) else "<p>none</p>",
            "<h2>Encoding per region</h2>", table_html(result["encoding"])]
    if result.get("reconstruction") is not None:
        body += ["<h2>Reconstruction from each region</h2>", table_html(result["reconstruction"])]
    return write_page(out / REPORT_FILE, "cortexkit regions compared", body)

