"""Paired statistics over cells: two models on the same test items of a benchmark.

Encoding: per recording, :func:`cortexkit.evaluation.paired_comparison` of the two models' test
predictions (bootstrap over test stimuli, swap permutations), combined over recordings with
:func:`cortexkit.evaluation.combine_sessions` (units of one recording share its images, so the
recordings are the independent evidence). Decoding and reconstruction: the item scores (trials,
test images) with a paired bootstrap over items within recordings and a Wilcoxon test over items.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from cortexkit import data
from cortexkit._atomic import write_text
from cortexkit.benchmarks.cells import CELLS, read_cells, read_items, read_predictions
from cortexkit.benchmarks.recordings import STORES
from cortexkit.benchmarks.tasks.encoding import scoring_targets
from cortexkit.errors import DataError
from cortexkit.evaluation import combine_sessions, mean_interval, paired_comparison
from cortexkit.pipelines import compare_predictions


def _store(out, benchmark: str, label: str) -> Path:
    return Path(out) / STORES / benchmark / f"{label}.zarr"


def headline_predictions(out, benchmark: str, cell: dict, label: str) -> dict[str, np.ndarray]:
    """``{"prediction", "stimulus"}`` of an encoding cell's headline model on one recording."""
    name = cell["per_recording"][label]["headline"]
    arrays = read_predictions(out, benchmark, cell["model"])
    return {"prediction": arrays[f"prediction/{label}/{name}"], "stimulus": arrays[f"stimulus/{label}/{name}"]}


def best_vs_baseline(out, benchmark: str, best: dict, baseline: dict, label: str,
                     units: list | None = None) -> dict:
    """``best`` against ``baseline`` (encoding cells) on one recording: paired statistics of their
    headline predictions, with the baseline's noise ceiling (:func:`cortexkit.pipelines.compare_predictions`);
    the per-unit table is appended to ``units`` when given."""
    test = data.select(data.open(_store(out, benchmark, label)), "test")
    items = read_items(out, benchmark, baseline["model"])
    head = baseline["per_recording"][label]["headline"]
    ceiling = items.loc[(items["recording"].astype(str) == label) & (items["model"] == head), "ceiling"].to_numpy()
    models = [headline_predictions(out, benchmark, cell, label) for cell in (best, baseline)]
    table, summary = compare_predictions(test, *models, ceiling=ceiling if np.isfinite(ceiling).any() else None,
                                         labels=(best["model"], baseline["model"]), log=lambda m: None)
    if units is not None:
        units.append(table.assign(recording=label))
    return summary


PAIRED = ".paired"  # under OUT/cells/BENCHMARK: paired summaries by the two cells' fingerprints (tables redrawn cheaply)


def _paired_encoding(out, benchmark: str, a: dict, b: dict) -> dict:
    summaries = {}
    for label in a["per_recording"]:
        key = hashlib.sha1(json.dumps([a.get("fingerprint"), b.get("fingerprint"), label, a["metric"]]).encode()).hexdigest()
        memo = Path(out) / CELLS / benchmark / PAIRED / f"{key}.json"
        if a.get("fingerprint") and b.get("fingerprint") and memo.is_file():
            try:
                summaries[label] = json.loads(memo.read_text())
                continue
            except ValueError:  # damaged: computed again
                pass
        test = data.select(data.open(_store(out, benchmark, label)), "test")
        pa, pb = (headline_predictions(out, benchmark, c, label) for c in (a, b))
        order_b = pd.Index(pb["stimulus"].astype(str)).get_indexer(pa["stimulus"].astype(str))
        if (order_b < 0).any():
            raise DataError(f"{b['model']} and {a['model']} predicted different test stimuli; rerun the benchmark",
                            source=str(Path(out) / benchmark))
        y = scoring_targets(test, pa["stimulus"], a["metric"])
        _, summaries[label] = paired_comparison(y, pa["prediction"], pb["prediction"][order_b], seed=0)
        if a.get("fingerprint") and b.get("fingerprint"):
            memo.parent.mkdir(parents=True, exist_ok=True)
            write_text(memo, json.dumps(summaries[label], default=lambda v: v.tolist() if hasattr(v, "tolist") else float(v)))
    if len(summaries) == 1:
        first = next(iter(summaries.values()))
        return {"diff": first["median_diff"], "ci_low": first["ci_low"], "ci_high": first["ci_high"],
                "p": first["permutation_p"], "test": "stimulus swap", "fraction_a_better": first["fraction_a_better"]}
    combined = combine_sessions(summaries)
    return {"diff": combined["mean_median_diff"], "ci_low": combined["ci_low"], "ci_high": combined["ci_high"],
            "p": combined["wilcoxon_p"], "test": f"Wilcoxon over {combined['n_sessions']} recordings",
            "fraction_a_better": float(np.mean([s["fraction_a_better"] for s in summaries.values()]))}


def _paired_items(out, benchmark: str, a: dict, b: dict) -> dict:
    items = {m["model"]: read_items(out, benchmark, m["model"]) for m in (a, b)}
    groups = items[a["model"]]["recording"].astype(str).to_numpy()
    if len(items[b["model"]]) != len(groups) or (items[b["model"]]["recording"].astype(str).to_numpy() != groups).any():
        raise DataError(f"{a['model']} and {b['model']} scored different items; rerun the benchmark",
                        source=str(Path(out) / benchmark))
    diffs = items[a["model"]]["score"].to_numpy(float) - items[b["model"]]["score"].to_numpy(float)
    interval = mean_interval([diffs[groups == g] for g in dict.fromkeys(groups)], seed=0)
    nonzero = diffs[np.isfinite(diffs) & (diffs != 0)]
    p = float(stats.wilcoxon(nonzero).pvalue) if len(nonzero) >= 2 else float("nan")
    return {"diff": interval["mean"], "ci_low": interval["ci_low"], "ci_high": interval["ci_high"], "p": p,
            "test": "Wilcoxon over items", "fraction_a_better": float(np.mean(diffs > 0))}


def paired_cells(out, benchmark: str, a: dict, b: dict) -> dict:
    """``a`` against ``b`` on the recordings both scored: difference in median r (or the item score)
    with its paired interval, p-value, the test behind it and the share of units (items) ``a`` predicts
    better."""
    if a["task"] != "encoding":
        return _paired_items(out, benchmark, a, b)
    shared = [label for label in a["per_recording"] if label in b["per_recording"]]
    return _paired_encoding(out, benchmark, {**a, "per_recording": {k: a["per_recording"][k] for k in shared}}, b)


def paired_top(out, benchmark: str, k: int = 3) -> list[dict]:
    """Paired comparisons between the ``k`` best models of a benchmark (every pair of them)."""
    cells = sorted(read_cells(out, benchmark), key=lambda r: -r["score"])[:k]
    comparisons = []
    for i, a in enumerate(cells):
        for b in cells[i + 1:]:
            summary = _paired_encoding(out, benchmark, a, b) if a["task"] == "encoding" else _paired_items(out, benchmark, a, b)
            comparisons.append({"a": a["model"], "b": b["model"], **summary})
    return comparisons
