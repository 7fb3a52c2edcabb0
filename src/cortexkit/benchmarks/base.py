"""The benchmark contract and runner: a source dataset, its recordings, the task, the score.

Each benchmark (one plugin file in this package, registered with ``@BENCHMARKS.register``) names a
source (a folder and format with the reader options of each recording, or an in-silico recording
made from a seed), a task (encoding, decoding a stimulus parameter, or reconstruction), its
stimulus kind (images or movies) and the headline metric. :func:`recording_store` turns the
source into one store per recording (once; a changed source file or simulation setting makes
it again). :func:`run_benchmark` runs the ridge encoding pipeline per recording of an encoding
benchmark over its feature spaces, and collects one row per recording: median held-out Pearson r
per feature space, with the split-half ceiling and the ceiling-normalised score (r²/ceiling)
where the recording has single-trial repeats. The leaderboard (:mod:`cortexkit.benchmarks.leaderboard`)
runs named models on every benchmark.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from cortexkit import data, simulate
from cortexkit._atomic import write_text
from cortexkit.errors import ConfigError, CortexkitError
from cortexkit.evaluation import MODELS_DIR, combine_sessions, load_arrays, to_markdown, write_csv_and_markdown, write_table
from cortexkit.pipelines.model_comparison import compare_predictions
from cortexkit.pipelines.ridge_encoding import (STACKED, EncodingConfig, FeatureSpec, RidgeSpec, StackSpec, evaluate_run,
                                                fit_run, model_names)
from cortexkit.registry import Registry


TASKS = ("encoding", "decoding", "reconstruction")
STIMULI = ("image", "movie")
# The headline metric of each task: the median over units of held-out Pearson r (against the
# noise-free rates where the recording is simulated); cross-validated decoding accuracy; the mean
# 2-way identification of reconstructions (pixel correlation).
METRICS = {"pearson": "median r", "pearson_true": "median r (true rates)", "accuracy": "accuracy",
           "identification": "2-way identification"}


@dataclass(frozen=True)
class Benchmark:
    """A benchmark's definition (no work is done until it is run)."""

    name: str
    description: str
    folder: str  # under the data root ("" for a simulated benchmark)
    format: str  # a reader ("" for a simulated benchmark)
    recordings: dict[str, dict]  # label -> reader options (or simulation settings)
    features: tuple[FeatureSpec, ...] = ()  # feature spaces of `cortexkit bench NAME` (encoding)
    task: str = "encoding"
    stimulus: str = "image"
    metric: str = "pearson"
    # simulated benchmarks: the population ("v1", "mt", "fmri"); recordings hold its config fields
    # (a population of several subjects gives each recording the subject named by its label)
    simulate: str | None = None
    parameter: str | None = None  # decoding: the stimulus coordinate or trial variable decoded
    citation: str = ""
    reference: dict[str, str] = field(default_factory=dict)  # label -> reference numbers, for the table
    # label -> reader options of the recordings found in the source folder (other sessions of a study)
    discover: Callable[[Path], dict[str, dict]] | None = None
    # the best model: a stack over the feature spaces, compared unit by unit with the best layer of
    # `baseline` (chosen on the test set, which favours the baseline)
    stack: StackSpec | None = None
    baseline: str | None = None

    def __post_init__(self):
        if self.task not in TASKS or self.stimulus not in STIMULI or self.metric not in METRICS:
            raise ConfigError(f"benchmark {self.name!r}: task must be one of {TASKS}, stimulus one of {STIMULI}, "
                              f"metric one of {list(METRICS)}")
        if self.task == "decoding" and not self.parameter:
            raise ConfigError(f"benchmark {self.name!r}: a decoding benchmark names its parameter")
        if self.simulate is None and not (self.folder and self.format):
            raise ConfigError(f"benchmark {self.name!r}: needs a source folder and format, or a simulated population")

    def definition(self) -> dict:
        """What the benchmark's numbers depend on (its fingerprint in the leaderboard)."""
        return {"name": self.name, "folder": self.folder, "format": self.format, "task": self.task,
                "stimulus": self.stimulus, "metric": self.metric, "simulate": self.simulate,
                "parameter": self.parameter, "recordings": self.recordings}


# Benchmarks by name; each plugin file registers a function returning its Benchmark.
BENCHMARKS = Registry("benchmark", wrap=lambda name, factory, meta: factory())


def get_benchmark(name: str) -> Benchmark:
    """The registered benchmark ``name``."""
    return BENCHMARKS.lookup(name)


def source_stamp(source: Path) -> str:
    """A hash of every file under ``source`` (relative path, size, modification time): it changes
    when a file is replaced, added or removed, without reading the data."""
    h = hashlib.sha1()
    paths = [source] if source.is_file() else sorted(p for p in source.rglob("*") if p.is_file())
    for p in paths:
        st = p.stat()
        h.update(f"{p.relative_to(source) if p != source else p.name}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def available_recordings(bench: Benchmark, data_root: str | os.PathLike | None) -> dict[str, dict]:
    """Label -> reader options (or simulation settings) of every recording of ``bench`` present."""
    if bench.simulate is not None:
        return dict(bench.recordings)
    source = Path(data_root or ".") / bench.folder
    if not source.exists():
        raise ConfigError(f"{source}: benchmark {bench.name!r} needs its source data here (--data-root)")
    available = bench.discover(source) if bench.discover else bench.recordings
    if not available:
        raise ConfigError(f"{source}: no recordings of benchmark {bench.name!r} found there")
    return available


def recording_store(bench: Benchmark, label: str, options: dict, data_root, store: Path, log=print, *,
                    stamp: str | None = None) -> Path:
    """The store of one recording at ``store``: converted from the source (or simulated) unless a
    store made from the same source files and settings is already there. ``stamp`` is the source
    folder's :func:`source_stamp` when the caller has it (one per folder, not per recording)."""
    store = Path(store)
    if bench.simulate is not None:
        wanted = json.dumps({"simulate": bench.simulate, "config": options}, sort_keys=True, default=str)
    else:
        source = Path(data_root) / bench.folder
        wanted = json.dumps({"format": bench.format, "options": options, "source": stamp or source_stamp(source)},
                            sort_keys=True, default=str)
    stamp = store.parent / f"{store.name}.source.json"
    if store.exists() and stamp.is_file() and stamp.read_text() == wanted:
        try:
            data.open(store)
            return store
        except CortexkitError:
            pass
    if bench.simulate is not None:
        model, run = simulate.POPULATIONS[bench.simulate]
        log(f"{label}: simulating {bench.simulate.upper()} ({options})")
        result = run(model(**options))
        if isinstance(result, dict):  # several subjects (fmri): the recording is the one named by its label
            if label not in result:
                raise ConfigError(f"benchmark {bench.name!r}: the simulation of {label!r} gives {list(result)}")
            result = result[label]
        data.save(result, store)
    else:
        log(f"{label}: converting {source} ({bench.format})")
        data.convert(source, store, bench.format, options, log=log)
    write_text(stamp, wanted)
    return store


def run_benchmark(
    name: str,
    data_root: str | os.PathLike,
    out: str | os.PathLike,
    *,
    features: list[FeatureSpec] | None = None,
    recordings: list[str] | None = None,
    ridge: RidgeSpec | None = None,
    baseline: str | None = None,
    log=print,
) -> pd.DataFrame:
    """Run a benchmark; write ``OUT/table.csv`` and ``OUT/table.md``; return the table.

    Every recording gets its own run directory ``OUT/<recording>/`` (store, models, results), so
    an interrupted benchmark resumes where it stopped.

    Parameters
    ----------
    name : str
        A registered benchmark (``cortexkit bench`` lists them).
    data_root : path
        Folder holding the benchmark's source folder.
    out : path
        Output folder.
    features : list of FeatureSpec, optional
        Feature spaces instead of the benchmark's own.
    recordings : list of str, optional
        A subset of the benchmark's recordings.
    ridge : RidgeSpec, optional
        Ridge settings instead of the defaults.
    baseline : str, optional
        Feature space the stacked best model is compared with (default: the benchmark's); with
        ``features`` given, the stack combines all their models.
    log : callable
        Receives one line per step.

    Returns
    -------
    pandas.DataFrame
        One row per recording: units, test images, median held-out r per feature space (the best
        layer and its name for multi-layer spaces), the median ceiling and r²/ceiling where the
        recording has repeats, and the reference figures.
    """
    bench = get_benchmark(name)
    if bench.task != "encoding" or not bench.features:
        raise ConfigError(f"benchmark {name!r} is a {bench.task} benchmark without feature spaces to compare; "
                          f"run models on it with `cortexkit leaderboard run --benchmarks {name}`")
    source = Path(data_root) / bench.folder
    available = available_recordings(bench, data_root)
    stamp = source_stamp(source)
    labels = recordings or list(available)
    unknown = sorted(set(labels) - set(available))
    if unknown:
        raise ConfigError(f"benchmark {name!r} has no recording(s) {unknown} in {source}; it has {list(available)}")
    specs = list(features or bench.features)
    stack = bench.stack if features is None else (StackSpec() if bench.stack else None)
    baseline = baseline or bench.baseline
    config = EncodingConfig(features=specs, ridge=ridge or RidgeSpec(), seed=0, stack=stack)
    out = Path(out)
    rows, layer_rows, area_rows, paired = [], [], [], {}
    for label in labels:
        run_dir = out / label
        store = recording_store(bench, label, available[label], data_root, run_dir / "data.zarr", log, stamp=stamp)
        fit_run(store, run_dir, config, log=lambda m, label=label: log(f"{label}: {m}"))
        results = evaluate_run(run_dir, log=lambda m, label=label: log(f"{label}: {m}"))
        ds = data.open(store)
        row = {"recording": label, "units": ds.sizes["unit"], "test images": int((ds["split"].values == "test").sum())}
        headline = {}
        for spec in config.features:
            names = model_names(spec)
            medians = {name: float(results.loc[results["model"] == name, "pearson"].median()) for _, name in names}
            if len(names) == 1:
                row[f"{spec.model_name} r"] = medians[names[0][1]]
                headline[spec.model_name] = names[0][1]
                continue
            for depth, (layer, name) in enumerate(names, start=1):
                layer_rows.append({"recording": label, "feature_space": spec.model_name, "layer": layer,
                                   "depth": depth, "median r": medians[name]})
            best_layer, best_name = max(names, key=lambda ln: medians[ln[1]])
            row[f"{spec.model_name} best r"] = medians[best_name]
            row[f"{spec.model_name} best layer"] = best_layer
            headline[spec.model_name] = best_name
        ceiling = results["ceiling"]
        if ceiling.notna().any():
            row["ceiling"] = float(ceiling.median())
            for space, name in headline.items():
                row[f"{space} r²/ceiling"] = float(results.loc[results["model"] == name, "normalized"].median())
        if "area" in results and results["area"].nunique() > 1:
            area_rows += _area_rows(results, config.features, label)
        if stack is not None and baseline in headline:
            row.update(_best_model_columns(store, run_dir, results, headline[baseline], label, paired))
        if label in bench.reference:
            row["reference"] = bench.reference[label]
        rows.append(row)
    table = pd.DataFrame(rows)
    table = table[[c for c in table.columns if c != "reference"] + (["reference"] if "reference" in table else [])]
    write_csv_and_markdown(table, out, "table")
    if layer_rows:
        layers = pd.DataFrame(layer_rows)
        write_table(layers, out / "layers.csv")
        pivot = layers.pivot_table(index=["feature_space", "depth", "layer"], columns="recording", values="median r",
                                   sort=False).reset_index().drop(columns="depth")
        write_text(out / "layers.md", to_markdown(pivot))
    if area_rows:
        write_csv_and_markdown(pd.DataFrame(area_rows), out, "areas")
    if paired:
        overall = combine_sessions(paired)
        write_text(out / "paired.json", json.dumps(overall, indent=1))
        log(f"best model vs {baseline}: median ratio {overall['median_ratio']:.3f} (min {overall['min_ratio']:.3f}) "
            f"over {overall['n_sessions']} recordings; mean difference in median r {overall['mean_median_diff']:+.3f} "
            f"[{overall['ci_low']:+.3f}, {overall['ci_high']:+.3f}], Wilcoxon over recordings p={overall['wilcoxon_p']:.3g}")
    return table


def _area_rows(results: pd.DataFrame, specs, label: str) -> list[dict]:
    """One row per area (brain region) of a recording: voxels, the median noise ceiling (and the true
    one when simulated), each feature space's median r²/ceiling at its best layer for that area,
    and that best layer (by median r)."""
    rows = []
    for area, part in results.groupby("area", sort=False):
        first = part[part["model"] == part["model"].iloc[0]]
        row = {"recording": label, "area": area, "units": len(first)}
        if first["ceiling"].notna().any():
            row["ceiling"] = float(first["ceiling"].median())
        if "true_ceiling" in first:
            row["true ceiling"] = float(first["true_ceiling"].median())
        for spec in specs:
            names = [name for _, name in model_names(spec)]
            medians = part[part["model"].isin(names)].groupby("model")["pearson"].median()
            best = medians.idxmax()
            row[f"{spec.model_name} r"] = float(medians[best])
            if "ceiling" in row:
                row[f"{spec.model_name} r²/ceiling"] = float(part.loc[part["model"] == best, "normalized"].median())
            if len(names) > 1:
                row[f"{spec.model_name} best layer"] = next(layer for layer, name in model_names(spec) if name == best)
        rows.append(row)
    return rows


def _best_model_columns(store: Path, run_dir: Path, results: pd.DataFrame, baseline: str, label: str, paired: dict) -> dict:
    """The stacked model's median r, its ratio to the baseline's, and the paired statistics."""
    test = data.select(data.open(store), "test")
    models = [load_arrays(run_dir / MODELS_DIR / f"{name}.npz") for name in (STACKED, baseline)]
    ceiling = results.loc[results["model"] == baseline, "ceiling"].to_numpy()  # evaluate_run's, unit order
    _, summary = compare_predictions(test, *models, ceiling=ceiling if np.isfinite(ceiling).any() else None,
                                     labels=(STACKED, baseline), log=lambda m: None)
    paired[label] = summary
    best = float(results.loc[results["model"] == STACKED, "pearson"].median())
    return {"best model r": best, "ratio": summary["ratio"], "diff CI": f"[{summary['ci_low']:+.3f}, {summary['ci_high']:+.3f}]",
            "p (swap)": summary["permutation_p"], "p (Wilcoxon)": summary["wilcoxon_p"],
            "units better": summary["fraction_a_better"]}
