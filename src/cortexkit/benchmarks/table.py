"""Tables are views over the cells: the model x benchmark matrix, and per benchmark the recordings
table (one row per recording, a column per model), the per-layer table, the per-area table and the
best model against its baseline. ``write_tables`` writes a benchmark's views under
``OUT/tables/BENCHMARK/``::

    recordings.csv, recordings.md   per recording: units, test images (clips; trials for decoding), each model's median r (for
                                    models that report every layer: at the layer chosen by CV on
                                    the training split, and its name),
                                    the ceiling and r²/ceiling where there are repeats, the best
                                    model against the baseline, reference figures
    layers.csv, layers.md           median test r and median CV score per layer of every
                                    multi-layer model and recording, the chosen layer marked
    areas.csv, areas.md             per recording and brain area (recordings of several areas)
    paired.json                     the best model against the baseline over all recordings
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from cortexkit import data
from cortexkit._atomic import write_text
from cortexkit.benchmarks.cells import CELLS, read_cells, read_items
from cortexkit.benchmarks.comparisons import best_vs_baseline, paired_cells
from cortexkit.benchmarks.definition import BENCHMARKS, TASKS, get_benchmark, metric_label
from cortexkit.benchmarks.recordings import LEFT_OUT, STORES
from cortexkit.errors import DataError
from cortexkit.evaluation import (choose_model, combine_sessions, cv_medians, p_text, to_markdown, write_csv_and_markdown,
                                  write_table)

TABLES = "tables"
COLUMNS = ["benchmark", "model", "task", "metric", "score", "ci_low", "ci_high", "normalized", "normalized_ci_low",
           "normalized_ci_high", "n", "seconds"]


def read_results(out) -> pd.DataFrame:
    """One row per cell of the results store ``out``: benchmark, model, task, metric, score and its
    interval, normalized and its interval, n, seconds."""
    return pd.DataFrame([{c: r.get(c) for c in COLUMNS} for r in read_cells(out)], columns=COLUMNS)


def matrix(table: pd.DataFrame, value: str = "score", *, with_ci: bool = True) -> pd.DataFrame:
    """Models x benchmarks of ``value`` ("score" or "normalized"), as text with its interval;
    models grouped by task (encoding, decoding, reconstruction), then ordered by their mean rank
    over the benchmarks they ran on."""
    if table.empty:
        return pd.DataFrame()
    shown = table.copy()
    low, high = ("ci_low", "ci_high") if value == "score" else ("normalized_ci_low", "normalized_ci_high")

    def fmt(row) -> str:
        if pd.isna(row[value]):
            return ""
        interval = f" [{row[low]:.3f}, {row[high]:.3f}]" if with_ci and not pd.isna(row.get(low)) else ""
        return f"{row[value]:.3f}{interval}"

    shown["text"] = shown.apply(fmt, axis=1)
    out = shown.pivot(index="model", columns="benchmark", values="text").fillna("")
    return out.loc[model_order(table), benchmark_order(table)].reset_index()


def write_matrices(out, table: pd.DataFrame) -> list[Path]:
    """The model x benchmark matrix per task, ``OUT/tables/matrix_TASK.md`` (raw scores with their
    intervals) and ``matrix_TASK_normalized.md``, one column per benchmark with its metric in the
    header."""
    written = []
    for task in TASKS:
        part = table[table["task"] == task]
        if part.empty:
            continue
        metrics = part.groupby("benchmark")["metric"].first()
        for value, suffix in (("score", ""), ("normalized", "_normalized")):
            if value == "normalized" and part["normalized"].isna().all():
                continue
            shown = matrix(part, value).rename(columns=lambda b: b if b not in metrics else
                                               f"{b} ({metric_label(metrics[b]) if value == 'score' else 'normalised'})")
            written.append(write_text(Path(out) / TABLES / f"matrix_{task}{suffix}.md", to_markdown(shown)))
    return written


def benchmark_order(table: pd.DataFrame) -> list[str]:
    """The benchmarks of ``table`` in listing order."""
    present = list(dict.fromkeys(table["benchmark"]))
    return [b for b in BENCHMARKS if b in present] + [b for b in present if b not in BENCHMARKS]


def model_order(table: pd.DataFrame) -> list[str]:
    """Models grouped by task in the order of ``TASKS``, each group by mean rank over its benchmarks."""
    ranked = table.assign(rank=table.groupby("benchmark")["score"].rank(ascending=False),
                          task_order=table["task"].map({t: i for i, t in enumerate(TASKS)}))
    keys = ranked.groupby("model").agg(task_order=("task_order", "min"), rank=("rank", "mean"))
    return list(keys.sort_values(["task_order", "rank"]).index)


def model_name(reference: str | None) -> str | None:
    """The name of a model given by name or by its ``.yaml`` path (the file's stem)."""
    return Path(reference).stem if reference and reference.endswith((".yaml", ".yml")) else reference


def benchmark_cells(out, benchmark: str) -> list[dict]:
    """The cells of one benchmark: its own models in its order, then any others by name."""
    own = [model_name(m) for m in get_benchmark(benchmark).models] if benchmark in BENCHMARKS else []
    cells = read_cells(out, benchmark)
    return sorted(cells, key=lambda c: (own.index(c["model"]) if c["model"] in own else len(own), c["model"]))


def _labels(cells: list[dict]) -> dict[str, str]:
    """Column name of each cell's model: its label (the feature space of a one-space ridge model),
    or its name where two models of the table share a label."""
    labels = [c.get("label", c["model"]) for c in cells]
    return {c["model"]: label if labels.count(label) == 1 else c["model"] for c, label in zip(cells, labels)}


def _median(items: pd.DataFrame, column: str) -> float:
    return float(items[column].median())


def recording_table(out, benchmark: str, *, paired: dict | None = None, units: list | None = None) -> pd.DataFrame:
    """One row per recording of ``benchmark`` (see the module docstring); ``paired`` receives the
    best model's per-recording comparison summaries, ``units`` its per-unit comparison tables."""
    bench = get_benchmark(benchmark)
    cells = benchmark_cells(out, benchmark)
    if not cells:
        return pd.DataFrame()
    labels = _labels(cells)
    by_model = {c["model"]: c for c in cells}
    best, baseline = by_model.get(model_name(bench.best)), by_model.get(model_name(bench.baseline))
    compare = best is not None and baseline is not None and bench.task == "encoding"
    shown = [c for c in cells if not (compare and c is best)]
    items = {c["model"]: read_items(out, benchmark, c["model"]) for c in cells} if bench.task == "encoding" else {}
    rows = []
    for label in cells[0]["per_recording"]:
        ds = data.open(Path(out) / STORES / benchmark / f"{label}.zarr")
        test = np.asarray(ds["split"].values) == "test"
        if bench.task == "decoding":  # decoders are scored trial by trial
            stim = pd.Index(ds["stimulus"].values).get_indexer(ds["stimulus_id"].values)
            row = {"recording": label, "units": ds.sizes["unit"], "test trials": int(test[stim].sum())}
        else:
            row = {"recording": label, "units": ds.sizes["unit"],
                   ("test clips" if bench.stimulus == "movie" else "test images"): int(test.sum())}
        if LEFT_OUT in ds.attrs:  # test stimuli copied among the transfer sources: not scored
            row["test left out (copies in sources)"] = len(json.loads(ds.attrs[LEFT_OUT]))
        if bench.task != "encoding":
            for c in shown:
                if label in c["per_recording"]:
                    row[labels[c["model"]]] = c["per_recording"][label]["score"]
            rows.append(row)
            continue
        own = {}
        for c in shown:
            if label not in c["per_recording"]:
                continue
            mine = items[c["model"]]
            mine = mine[mine["recording"].astype(str) == label]
            names = list(dict.fromkeys(mine["model"]))
            medians = {name: _median(mine[mine["model"] == name], "pearson") for name in names}
            head = c["per_recording"][label]["headline"]
            own[c["model"]] = mine[mine["model"] == head]
            if len(names) == 1:
                row[f"{labels[c['model']]} r"] = medians[head]
            else:  # the layer chosen by CV on the training split (the cell's headline)
                row[f"{labels[c['model']]} r"] = medians[head]
                row[f"{labels[c['model']]} layer (CV)"] = str(mine.loc[mine["model"] == head, "layer"].iloc[0])
            if bench.metric == "pearson_true":
                row[f"{labels[c['model']]} r (truth)"] = _median(own[c["model"]], "pearson_true")
        ceiling = next(iter(own.values()))["ceiling"] if own else pd.Series(dtype=float)
        if ceiling.notna().any():
            row["ceiling"] = float(ceiling.median())
            for model, rows_ in own.items():
                row[f"{labels[model]} r²/ceiling"] = _median(rows_, "normalized")
        if compare and label in best["per_recording"] and label in baseline["per_recording"]:
            summary = best_vs_baseline(out, benchmark, best, baseline, label, units)
            if paired is not None:
                paired[label] = summary
            row.update({"best model r": best["per_recording"][label]["pearson"], "ratio": summary["ratio"],
                        "diff CI": f"[{summary['ci_low']:+.3f}, {summary['ci_high']:+.3f}]",
                        "p (swap)": p_text(summary["permutation_p"]), "p (Wilcoxon)": p_text(summary["wilcoxon_p"]),
                        "share of units better": summary["fraction_a_better"]})
        if label in bench.reference:
            row["reference"] = bench.reference[label]
        rows.append(row)
    table = pd.DataFrame(rows)
    return table[[c for c in table.columns if c != "reference"] + (["reference"] if "reference" in table else [])]


def layer_table(out, benchmark: str) -> pd.DataFrame:
    """Median test r per layer of each model that reports every layer, with the median CV score on
    the training split the layer is chosen by: recording, feature_space, layer, depth, median r,
    median CV score, chosen (the layer of the recording's headline)."""
    cells = [c for c in benchmark_cells(out, benchmark) if c["task"] == "encoding"]
    labels = _labels(cells)
    items = {c["model"]: read_items(out, benchmark, c["model"]) for c in cells}
    rows = []
    for label in (cells[0]["per_recording"] if cells else []):
        for c in cells:
            mine = items[c["model"]]
            mine = mine[mine["recording"].astype(str) == label]
            names = list(dict.fromkeys(mine["model"]))
            if len(names) < 2:
                continue
            cv = cv_medians(mine, names)
            chosen = c["per_recording"][label]["headline"]
            for depth, name in enumerate(names, start=1):
                rows.append({"recording": label, "feature_space": labels[c["model"]],
                             "layer": str(mine.loc[mine["model"] == name, "layer"].iloc[0]), "depth": depth,
                             "median r": _median(mine[mine["model"] == name], "pearson"),
                             "median CV score": float(cv[name]), "chosen": "yes" if name == chosen else ""})
    return pd.DataFrame(rows)


def area_table(out, benchmark: str) -> pd.DataFrame:
    """One row per recording and brain area (recordings with units of several areas): units, the
    median ceiling (and the true one when simulated), each model's median r and r²/ceiling at the
    layer chosen for that area by CV on the training split, and that layer."""
    cells = [c for c in benchmark_cells(out, benchmark) if c["task"] == "encoding"]
    labels = _labels(cells)
    items = {c["model"]: read_items(out, benchmark, c["model"]) for c in cells}
    rows = []
    for label in (cells[0]["per_recording"] if cells else []):
        mine = {m: t[t["recording"].astype(str) == label] for m, t in items.items()}
        first = next(iter(mine.values()))
        if "area" not in first or first["area"].nunique() < 2:
            continue
        for area in dict.fromkeys(first["area"]):
            part = first[(first["area"] == area) & (first["model"] == first["model"].iloc[0])]
            row = {"recording": label, "area": area, "units": len(part)}
            if part["ceiling"].notna().any():
                row["ceiling"] = float(part["ceiling"].median())
            if "true_ceiling" in part:
                row["true ceiling"] = float(part["true_ceiling"].median())
            for model, table in mine.items():
                table = table[table["area"] == area]
                medians = table.groupby("model", sort=False)["pearson"].median()
                chosen = choose_model(table)
                row[f"{labels[model]} r"] = float(medians[chosen])
                if "ceiling" in row:
                    row[f"{labels[model]} r²/ceiling"] = _median(table[table["model"] == chosen], "normalized")
                if len(medians) > 1:
                    row[f"{labels[model]} layer (CV)"] = str(table.loc[table["model"] == chosen, "layer"].iloc[0])
            rows.append(row)
    return pd.DataFrame(rows)


def lever_table(out, benchmark: str) -> pd.DataFrame:
    """Every model of the benchmark against each of its ``compare_to`` models (the ablation of what a
    model adds): its headline score with the interval, then per reference the paired difference in
    median r with its interval and p, and the share of units it predicts better, over the recordings
    both scored."""
    bench = get_benchmark(benchmark)
    cells = benchmark_cells(out, benchmark)
    by_model = {c["model"]: c for c in cells}
    references = [by_model[m] for m in map(model_name, bench.compare_to) if m in by_model]
    if not references or bench.task == "decoding":
        return pd.DataFrame()
    encoding = bench.task == "encoding"
    headline = "median r" if encoding else metric_label(bench.metric)
    items = "units" if encoding else ("clips" if bench.stimulus == "movie" else "images")
    rows = []
    for c in cells:
        row = {"model": c["model"], "recordings": len(c["per_recording"]),
               headline: f"{c['score']:.3f} [{c['ci_low']:.3f}, {c['ci_high']:.3f}]"}
        if not encoding:  # the reconstruction metrics beside identification, means over recordings
            from cortexkit.benchmarks.tasks.reconstruction import RECONSTRUCTION_METRICS

            for metric in RECONSTRUCTION_METRICS:
                values = [r[metric] for r in c["per_recording"].values() if metric in r]
                if values:
                    row[metric] = round(float(np.mean(values)), 3)
        for ref in references:
            shared = [label for label in c["per_recording"] if label in ref["per_recording"]]
            if ref is c or not shared:
                row[f"vs {ref['model']}"] = row[f"{items} better than {ref['model']}"] = ""
                continue
            summary = paired_cells(out, benchmark, c, ref)
            row[f"vs {ref['model']}"] = (f"{summary['diff']:+.3f} [{summary['ci_low']:+.3f}, {summary['ci_high']:+.3f}], "
                                         f"p {p_text(summary['p'])}")
            row[f"{items} better than {ref['model']}"] = f"{summary['fraction_a_better']:.2f}"
        rows.append(row)
    return pd.DataFrame(rows)


def write_tables(out, benchmark: str, log=print) -> dict[str, Path]:
    """Write every view of ``benchmark`` under ``OUT/tables/BENCHMARK/``; returns name -> path."""
    folder = Path(out) / TABLES / benchmark
    paired: dict = {}
    written = {}
    if not (Path(out) / CELLS / benchmark).is_dir():  # every cell of it failed: nothing to show
        return written
    units: list = []
    recordings = recording_table(out, benchmark, paired=paired, units=units)
    if recordings.empty:
        return written
    write_csv_and_markdown(recordings, folder, "recordings")
    written["recordings"] = folder / "recordings.md"
    if units:  # the best model against the baseline, unit by unit
        bench = get_benchmark(benchmark)
        a, b = model_name(bench.best), model_name(bench.baseline)
        table = pd.concat(units, ignore_index=True)
        table = pd.DataFrame({"recording": table["recording"].astype(str), "unit": table["unit"].astype(str),
                              f"{a} r": table["r_a"], f"{b} r": table["r_b"], "difference": table["diff"],
                              "95% interval": [f"[{lo:+.3f}, {hi:+.3f}]" for lo, hi in zip(table["ci_low"], table["ci_high"])],
                              "better (own interval)": np.where(table["a_better"], a, np.where(table["b_better"], b, "neither"))})
        write_csv_and_markdown(table, folder, "units")
        written["units"] = folder / "units.md"
    layers = layer_table(out, benchmark)
    if not layers.empty:
        write_table(layers, folder / "layers.csv")
        # Median test r per layer; "*" marks the layer chosen by CV on the training split.
        marked = layers.assign(text=[f"{r:.3f}{' *' if c == 'yes' else ''}" for r, c in zip(layers["median r"], layers["chosen"])])
        pivot = marked.pivot_table(index=["feature_space", "depth", "layer"], columns="recording", values="text",
                                   aggfunc="first", sort=False).reset_index().drop(columns="depth").fillna("")
        written["layers"] = write_text(folder / "layers.md", to_markdown(pivot))
    levers = lever_table(out, benchmark)
    if not levers.empty:
        write_csv_and_markdown(levers, folder, "levers")
        written["levers"] = folder / "levers.md"
    areas = area_table(out, benchmark)
    if not areas.empty:
        write_csv_and_markdown(areas, folder, "areas")
        written["areas"] = folder / "areas.md"
    if paired:
        bench = get_benchmark(benchmark)
        overall = combine_sessions(paired)
        written["paired"] = write_text(folder / "paired.json", json.dumps(overall, indent=1))
        log(f"{benchmark}: {model_name(bench.best)} vs {model_name(bench.baseline)}: median ratio {overall['median_ratio']:.3f} "
            f"(min {overall['min_ratio']:.3f}) over {overall['n_sessions']} recordings; mean difference in median r "
            f"{overall['mean_median_diff']:+.3f} [{overall['ci_low']:+.3f}, {overall['ci_high']:+.3f}], "
            f"Wilcoxon over recordings p={overall['wilcoxon_p']:.3g}")
    return written


def read_table_view(out, benchmark: str, name: str = "recordings") -> pd.DataFrame:
    """A written view (``recordings``, ``layers``, ``areas``, ``units``, ``levers``) of a benchmark, as a table."""
    path = Path(out) / TABLES / benchmark / f"{name}.csv"
    if not path.is_file():
        write_tables(out, benchmark, log=lambda m: None)
    if not path.is_file():
        return pd.DataFrame()
    try:
        return pd.read_csv(path, dtype={"recording": str}, keep_default_na=False, na_values=["", "nan", "NaN"])
    except Exception as exc:  # damaged: say which file, and how to make it again
        raise DataError(f"cannot read this table ({type(exc).__name__}: {str(exc)[:120]}); `cortexkit bench run` "
                        "writes it again", source=str(path)) from None
