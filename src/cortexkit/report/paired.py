"""The page of a paired model comparison: the summary statistics and the per-unit scatter."""

from __future__ import annotations

import json
import os
from pathlib import Path


from cortexkit.evaluation import p_text, read_table
from cortexkit.report import figures
from cortexkit.report.page import FIGURES_DIR, REPORT_FILE, facts_html, figure_html, save_figure, write_page

ROWS = [("A", "a"), ("B", "b"), ("test stimuli", "n_stimuli"), ("units", "n_units"), ("median r (A)", "median_r_a"),
        ("median r (B)", "median_r_b"), ("ratio of medians (A / B)", "ratio"), ("median difference (A - B)", "median_diff"),
        ("95% interval (bootstrap over stimuli)", "interval"), ("p, swap permutation", "permutation_p"),
        ("p, Wilcoxon over units", "wilcoxon_p"), ("share of units with r(A) > r(B)", "fraction_a_better"),
        ("units whose own interval favours A / B", "counts"), ("median normalized difference", "median_normalized_diff")]


def summary_rows(summary: dict) -> list[tuple[str, str]]:
    """The comparison's summary as (label, text) rows, in words: what the page and the command print."""
    summary = dict(summary)
    summary["interval"] = f"[{summary['ci_low']:+.3f}, {summary['ci_high']:+.3f}]"
    summary["counts"] = f"{summary['n_a_better']} / {summary['n_b_better']}"
    rows = []
    for label, key in ROWS:
        if key not in summary:
            continue
        value = summary[key]
        text = (p_text(value) if key.endswith("_p") else f"{value:.0%}" if key == "fraction_a_better" and value == value
                else f"{value:.3g}" if isinstance(value, float) else str(value))
        rows.append((label, text))
    return rows


def write_paired_report(out: str | os.PathLike) -> Path:
    """Draw ``OUT/report.html`` for what :func:`cortexkit.pipelines.compare_models` wrote in ``OUT``."""
    out = Path(out)
    summary = json.loads((out / "paired_summary.json").read_text())
    table = read_table(out / "paired_units.csv")
    facts = summary_rows(summary)
    fig = save_figure(figures.paired_scatter(table, summary["a"], summary["b"]), out / FIGURES_DIR / "paired_scatter.png")
    body = ["<h2>Summary</h2>", facts_html(facts),
            "<p>Differences are in Pearson r against the repeat-averaged test responses. The interval resamples "
            "test stimuli (and, with single trials, each stimulus's repeats) with the same draw for both models; "
            "the swap test exchanges the two models' predictions of random stimuli.</p>",
            figure_html(fig, "Each unit's held-out r under B (x) and A (y); filled points are units whose own "
                             "bootstrap interval excludes 0."),
            '<p>Per-unit table: <a href="paired_units.csv">paired_units.csv</a>.</p>']
    return write_page(out / REPORT_FILE, "cortexkit paired comparison", body)
