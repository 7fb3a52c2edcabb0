"""The leaderboard: every named model on every benchmark of its task and stimulus kind.

Each (benchmark, model) pair is a *cell*, an independent task: :func:`score_cell` runs the model's
pipeline on each recording of the benchmark and writes, under ``OUT/cells/BENCHMARK/``::

    MODEL.json        headline score with its interval, the normalised score, per-recording
                      scores, extra metrics, the fingerprint and the time it took
    MODEL.items.csv   one row per scored item: unit (encoding), trial (decoding; score 1 if
                      decoded right) or test image (reconstruction)
    MODEL.npz         encoding: each recording's test predictions, for paired comparisons

:func:`run_leaderboard` computes only the cells that are missing or whose fingerprint changed (the
model's definition, the benchmark's, its source files or simulation settings, the cortexkit
version), serially or as Dask tasks on a ``distributed`` scheduler. The stores the cells read are
made first, once, under ``OUT/stores/``; each model's run directories sit under ``OUT/runs/``.

Scores: encoding, the median over units (pooled over recordings) of held-out Pearson r -- against
the noise-free rates on simulated benchmarks -- with a bootstrap interval over test stimuli and
the median ceiling-normalised r²/ceiling over units that have a ceiling; decoding, the
cross-validated accuracy averaged over recordings with a bootstrap interval over trials, and the
chance-normalised (accuracy - chance) / (1 - chance); reconstruction, the mean 2-way
identification (pixel correlation) with a bootstrap interval over test images, PixCorr, SSIM and
the shuffled-reconstruction null beside it.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from cortexkit import __version__, data
from cortexkit._atomic import write_text
from cortexkit._progress import track
from cortexkit.benchmarks.base import (BENCHMARKS, METRICS, TASKS, Benchmark, available_recordings, get_benchmark,
                                       recording_store, source_stamp)
from cortexkit.benchmarks.model_specs import ModelSpec, builtin_models, get_model
from cortexkit.errors import ConfigError, CortexkitError, DataError
from cortexkit.evaluation import (MODELS_DIR, combine_sessions, load_arrays, mean_interval, median_r_interval,
                                  noise_ceiling, paired_comparison, read_run_record, read_table, run_kind, save_arrays,
                                  score_predictions, write_table)
from cortexkit.metrics import reconstruction as rm

CELLS = "cells"
STORES = "stores"
RUNS = "runs"


@dataclass(frozen=True)
class Cell:
    """One model on one benchmark, with the stores it reads (label -> path)."""

    benchmark: Benchmark
    model: ModelSpec
    stores: dict[str, str]
    out: str

    @property
    def folder(self) -> Path:
        return Path(self.out) / CELLS / self.benchmark.name

    @property
    def result_path(self) -> Path:
        return self.folder / f"{self.model.name}.json"

    def fingerprint(self) -> str:
        """Hash of what the cell's numbers depend on: model, benchmark, stores' sources, version."""
        sources = {label: _stamp_of(Path(path)) for label, path in sorted(self.stores.items())}
        blob = json.dumps({"model": self.model.definition(), "benchmark": self.benchmark.definition(),
                           "sources": sources, "cortexkit": __version__}, sort_keys=True, default=str)
        return hashlib.sha1(blob.encode()).hexdigest()

    def is_current(self) -> bool:
        """Whether the cell's result is on disk and was made from the same inputs."""
        try:
            return json.loads(self.result_path.read_text()).get("fingerprint") == self.fingerprint()
        except (OSError, ValueError):
            return False


def _stamp_of(store: Path) -> str:
    stamp = store.parent / f"{store.name}.source.json"
    return stamp.read_text() if stamp.is_file() else ""


def _select(names: list[str] | None, available: dict, kind: str) -> list:
    if not names:
        return list(available.values())
    unknown = [n for n in names if n not in available]
    if unknown:
        raise ConfigError(f"unknown {kind}(s) {unknown}; available: {sorted(available)}")
    return [available[n] for n in names]


def plan_cells(models: list[str] | None, benchmarks: list[str] | None) -> list[tuple[Benchmark, ModelSpec]]:
    """The (benchmark, model) pairs to run: every compatible pair of the named (default: all) ones.

    Models restricted to some benchmarks (``benchmarks:`` in their file) run elsewhere only when
    both the model and the benchmark are named explicitly.
    """
    model_specs = [get_model(n) for n in models] if models else list(builtin_models().values())
    benches = _select(benchmarks, {n: get_benchmark(n) for n in BENCHMARKS}, "benchmark")
    explicit = bool(models) and bool(benchmarks)
    pairs = [(b, m) for b in benches for m in model_specs
             if (m.runs_on(b) if explicit else m.runs_by_default_on(b))]
    if not pairs:
        raise ConfigError(f"no model of {[m.name for m in model_specs]} runs on {[b.name for b in benches]} "
                          "(a model runs on benchmarks of its task and stimulus kind: `cortexkit leaderboard models`)")
    return pairs


def prepare_stores(bench: Benchmark, data_root, out, log=print) -> dict[str, str]:
    """Convert (or simulate) every recording of ``bench`` once, under ``OUT/stores/BENCHMARK/``."""
    recordings = available_recordings(bench, data_root)
    folder = Path(out) / STORES / bench.name
    stamp = None if bench.simulate else source_stamp(Path(data_root) / bench.folder)
    return {label: str(recording_store(bench, label, options, data_root, folder / f"{label}.zarr", log, stamp=stamp))
            for label, options in recordings.items()}


def run_leaderboard(data_root, out, *, models: list[str] | None = None, benchmarks: list[str] | None = None,
                    scheduler: str | None = None, log=print) -> pd.DataFrame:
    """Fill the leaderboard's results store at ``out`` (missing or stale cells only); return
    :func:`read_leaderboard`.

    Parameters
    ----------
    data_root : path
        Folder holding the benchmarks' source folders (``../shared/data``); simulated benchmarks
        need none.
    out : path
        The results store (a folder).
    models, benchmarks : list of str, optional
        Names (a model may also be a path to a model ``.yaml``); default all.
    scheduler : str, optional
        A Dask ``distributed`` scheduler address: the cells run there as independent tasks (the
        workers must see ``out`` and the data at the same paths).
    log : callable
        Receives one line per step.

    A benchmark whose source data is absent is skipped when no benchmarks were named (the
    simulated ones still run) and an error when it was named. A cell that fails on its data or
    settings (a :class:`~cortexkit.errors.CortexkitError`) does not stop the others; the run ends
    with one error naming every failed cell.
    """
    out = Path(out)
    pairs = plan_cells(models, benchmarks)
    stores = {}
    for bench in {b.name: b for b, _ in pairs}.values():
        try:
            stores[bench.name] = prepare_stores(bench, data_root, out, log)
        except ConfigError as exc:
            if benchmarks:
                raise
            log(f"{bench.name}: skipped ({exc})")
    cells = [Cell(b, m, stores[b.name], str(out)) for b, m in pairs if b.name in stores]
    todo = [c for c in cells if not c.is_current()]
    log(f"{len(cells)} cells, {len(cells) - len(todo)} up to date, {len(todo)} to compute")
    failures = []
    if scheduler and todo:
        from distributed import Client, as_completed

        client = Client(scheduler)
        try:
            futures = {client.submit(score_cell, c, pure=False): c for c in todo}
            for future in track(as_completed(futures), "leaderboard", total=len(futures)):
                cell = futures[future]
                try:
                    result = future.result()
                except CortexkitError as exc:
                    failures.append(f"{cell.benchmark.name} / {cell.model.name}: {exc}")
                    continue
                log(f"{cell.benchmark.name} / {cell.model.name}: {result['score']:.3f}")
        finally:
            client.close()
    else:
        for cell in track(todo, "leaderboard"):
            log(f"{cell.benchmark.name} / {cell.model.name}: running")
            try:
                result = score_cell(cell, log=lambda m, c=cell: log(f"{c.benchmark.name} / {c.model.name}: {m}"))
            except CortexkitError as exc:  # bad data or settings of one cell: the others still run
                failures.append(f"{cell.benchmark.name} / {cell.model.name}: {exc}")
                log(f"{failures[-1]} (failed)")
                continue
            log(f"{cell.benchmark.name} / {cell.model.name}: {result['score']:.3f} "
                f"[{result['ci_low']:.3f}, {result['ci_high']:.3f}] ({result['seconds']:.0f} s)")
    table = read_leaderboard(out)
    write_table(table, out / "leaderboard.csv")
    if failures:
        raise CortexkitError(f"{len(failures)} of {len(todo)} cell(s) failed, the others are in {out}: "
                             + "; ".join(failures))
    return table


def score_cell(cell: Cell, log=lambda m: None) -> dict:
    """Run one model on one benchmark; write the cell's files; return its result."""
    start = time.time()
    runner = {"ridge": _encoding_ridge, "trained": _encoding_trained, "reconstruction": _reconstruction,
              "parameter_decoding": _decoding}[cell.model.kind]
    result, items, arrays = runner(cell, log)
    # what ran, for the model's page (a user's model file may be gone or changed later)
    spec = cell.model.model_dump(include={"description", "kind", "task", "stimulus", "config", "output", "source"})
    result.update(benchmark=cell.benchmark.name, model=cell.model.name, model_spec=spec, task=cell.benchmark.task,
                  metric=cell.benchmark.metric, fingerprint=cell.fingerprint(), seconds=round(time.time() - start, 1),
                  time=time.strftime("%Y-%m-%d %H:%M:%S"), cortexkit=__version__)
    cell.folder.mkdir(parents=True, exist_ok=True)
    write_table(items, cell.folder / f"{cell.model.name}.items.csv")
    if arrays:
        save_arrays(arrays, cell.folder / f"{cell.model.name}.npz")
    write_text(cell.result_path, json.dumps(result, indent=1, default=float))  # last: marks the cell done
    return result


def _run_dir(cell: Cell, label: str | None = None) -> Path:
    base = Path(cell.out) / RUNS / cell.benchmark.name / cell.model.name
    return base / label if label else base


def scoring_targets(test, stimulus: np.ndarray, metric: str) -> np.ndarray:
    """The (stimulus, unit) targets of an encoding score, rows in the order of ``stimulus``: the
    repeat-averaged responses, or the true rates (``pearson_true``)."""
    if metric == "pearson_true":
        if "true_rate" not in test:
            raise DataError("needs 'true_rate' (a simulated recording) to score against the true rates",
                            variable="true_rate")
        values = test["true_rate"].transpose("stimulus", "unit")
    else:
        values = data.repeat_average(test)
    # labels compared as text: a saved array may hold numeric ids as strings
    order = pd.Index(np.asarray(values["stimulus"].values).astype(str)).get_indexer(np.asarray(stimulus).astype(str))
    if (order < 0).any():
        raise DataError("predictions name stimuli the test split does not hold", variable="stimulus")
    return np.asarray(values.values, dtype=np.float64)[order]


def _encoding_result(cell: Cell, predictions: dict[str, tuple[np.ndarray, np.ndarray]], seed: int = 0):
    """Score each recording's (prediction, stimulus labels) exactly as ``cortexkit evaluate`` does."""
    metric = cell.benchmark.metric
    frames, pairs, recorded, ceilings, per_recording, arrays = [], [], [], [], {}, {}
    for label, (pred, stimulus) in predictions.items():
        test = data.select(data.open(cell.stores[label]), "test")
        ceiling = noise_ceiling(test, seed=seed)
        table = score_predictions(test, pred, stimulus, ceiling)
        table.insert(0, "unit", np.asarray(test["unit"].values))
        table.insert(0, "recording", label)
        table["score"] = table[metric]
        frames.append(table)
        pairs.append((scoring_targets(test, stimulus, metric), pred))
        recorded.append((scoring_targets(test, stimulus, "pearson"), pred))
        ceilings.append(table["ceiling"].to_numpy(float))
        per_recording[label] = {"score": float(table["score"].median()), "n": int(table["score"].notna().sum()),
                                "normalized": _median(table["normalized"])}
        arrays[f"prediction/{label}"] = np.asarray(pred, np.float32)
        arrays[f"stimulus/{label}"] = np.asarray(stimulus).astype(str)
    items = pd.concat(frames, ignore_index=True)
    interval = median_r_interval(pairs, seed=seed)
    # r²/ceiling is defined on the recorded responses (also where the headline uses the true rates)
    normalized = median_r_interval(recorded, ceilings=ceilings, seed=seed)
    result = {"score": interval["median"], "ci_low": interval["ci_low"], "ci_high": interval["ci_high"],
              "n": interval["n_units"], "normalized": normalized["normalized"],
              "normalized_ci_low": normalized["normalized_ci_low"], "normalized_ci_high": normalized["normalized_ci_high"],
              "n_normalized": int(items["normalized"].notna().sum()), "normalization": "r²/ceiling",
              "ceiling": _median(items["ceiling"]), "per_recording": per_recording}
    if metric == "pearson_true":
        result["pearson"] = _median(items["pearson"])
    return result, items, arrays


def _median(values) -> float:
    v = np.asarray(values, dtype=float)
    return float(np.nanmedian(v)) if np.isfinite(v).any() else float("nan")


def _moved(run_dir: Path, store) -> bool:
    """Whether a run directory was written for a store at another path (a moved or copied results
    store): it is then refitted rather than refused."""
    if run_kind(run_dir) is None:
        return False
    return read_run_record(run_dir).get("data") != str(Path(store).resolve())


def _encoding_ridge(cell: Cell, log):
    from cortexkit.pipelines.ridge_encoding import fit_run

    config = cell.model.encoding()
    predictions = {}
    for label, store in cell.stores.items():
        run_dir = _run_dir(cell, label)
        fit_run(store, run_dir, config, overwrite=_moved(run_dir, store), log=lambda m, label=label: log(f"{label}: {m}"))
        model = load_arrays(run_dir / MODELS_DIR / f"{cell.model.output}.npz")
        predictions[label] = (model["prediction"], model["stimulus"])
    return _encoding_result(cell, predictions, config.seed)


def _encoding_trained(cell: Cell, log):
    from cortexkit.pipelines.trained_predictor import stimulus_predictions, train_predictor

    config = cell.model.training([{"path": path, "key": label} for label, path in cell.stores.items()])
    run = train_predictor(config, _run_dir(cell), log=log)
    run.model.eval()
    return _encoding_result(cell, {label: stimulus_predictions(run, label) for label in cell.stores}, config.seed)


def _reconstruction(cell: Cell, log):
    from cortexkit.pipelines.reconstruction import DecoderSpec, ReconstructionConfig, prepare_stimuli, run_reconstruction

    spec = DecoderSpec.model_validate(cell.model.config["decoder"])
    config = ReconstructionConfig(decoders=[spec], image_size=cell.model.config.get("image_size", 64), seed=0)
    frames, per_image, per_recording, nulls = [], [], {}, []
    for label, store in cell.stores.items():
        run_dir = _run_dir(cell, label)
        table = run_reconstruction(store, run_dir, config, log=lambda m, label=label: log(f"{label}: {m}"))
        test = data.select(data.open(store), "test")
        truth = prepare_stimuli(test["stimuli"].values, config.image_size)
        rec = load_arrays(run_dir / "reconstructions" / f"{spec.model_name}.npz")["reconstructions"]
        # per image, in the pixel space of the run's own 2-way_pixels (its mean is that column)
        two_way = rm.identification(truth.reshape(len(truth), -1), rec.reshape(len(rec), -1))
        frame = pd.DataFrame({"recording": label, "stimulus": np.asarray(test["stimulus"].values).astype(str),
                              "score": two_way, "pixcorr": rm.pixcorr(truth, rec), "ssim": rm.ssim(truth, rec)})
        frames.append(frame)
        per_image.append(two_way)
        rows = table.set_index("method")
        decoded, shuffled = rows.loc[spec.model_name], rows.loc[f"{spec.model_name} (shuffled)"]
        p_column = next(c for c in rows.columns if c.startswith("p_2way"))  # the deepest feature space's
        per_recording[label] = {"score": float(np.nanmean(two_way)), "n": int(np.isfinite(two_way).sum()),
                                "null_shuffled": float(shuffled["2way_pixels"]), "p_value": float(decoded[p_column]),
                                "p_of": p_column[2:],
                                **{c: float(decoded[c]) for c in rows.columns if c.startswith("2way_")}}
        nulls.append(float(shuffled["2way_pixels"]))
    items = pd.concat(frames, ignore_index=True)
    interval = mean_interval(per_image)
    result = {"score": interval["mean"], "ci_low": interval["ci_low"], "ci_high": interval["ci_high"],
              "n": interval["n_items"], "normalized": float("nan"), "normalization": "",
              "pixcorr": float(items["pixcorr"].mean()), "ssim": float(items["ssim"].mean()),
              "chance": 0.5, "null_shuffled": float(np.mean(nulls)), "per_recording": per_recording}
    return result, items, {}


def _decoding(cell: Cell, log):
    from cortexkit.pipelines.parameter_decoding import run_parameter_decoding

    settings = cell.model.config
    per_trial, rows, frames, per_recording = [], [], [], {}
    for label, store in cell.stores.items():
        res = run_parameter_decoding(store, cell.benchmark.parameter, _run_dir(cell, label),
                                     method=settings.get("method", "logistic"), C=settings.get("C", 1.0),
                                     n_permutations=settings.get("n_permutations", 200), seed=0)
        result = res["result"]
        if result.kind != "classification":
            raise DataError(f"{cell.benchmark.parameter!r} is continuous; decoding benchmarks score classes",
                            source=store)
        correct = (np.asarray(result.predictions) == np.asarray(res["values"])).astype(float)
        per_trial.append(correct)
        frames.append(pd.DataFrame({"recording": label, "trial": np.arange(len(correct)), "score": correct,
                                    "true": np.asarray(res["values"]), "decoded": np.asarray(result.predictions)}))
        rows.append({"recording": label, "score": result.score, "chance": result.chance, "p_value": result.p_value,
                     "trials": len(correct), "normalized": (result.score - result.chance) / (1 - result.chance)})
        per_recording[label] = {"score": result.score, "n": len(correct), "chance": result.chance,
                                "p_value": result.p_value, "normalized": rows[-1]["normalized"]}
    recordings = pd.DataFrame(rows)
    interval = mean_interval(per_trial)
    # (accuracy - chance) / (1 - chance) is the mean of the trials' rescaled scores: same draws, exact
    rescaled = mean_interval([(v - c) / (1 - c) for v, c in zip(per_trial, recordings["chance"])])
    chance = float(recordings["chance"].mean())
    result = {"score": interval["mean"], "ci_low": interval["ci_low"], "ci_high": interval["ci_high"],
              "n": int(recordings["trials"].sum()), "normalized": rescaled["mean"],
              "normalized_ci_low": rescaled["ci_low"], "normalized_ci_high": rescaled["ci_high"],
              "normalization": "(accuracy - chance) / (1 - chance)", "chance": chance, "per_recording": per_recording}
    return result, pd.concat(frames, ignore_index=True), {}


def read_cells(out) -> list[dict]:
    """Every cell result in the results store ``out``."""
    folder = Path(out) / CELLS
    if not folder.is_dir():
        raise ConfigError(f"{out}: no leaderboard results here (run `cortexkit leaderboard run --out {out}` first)")
    results = []
    for path in sorted(folder.glob("*/*.json")):
        try:
            results.append(json.loads(path.read_text()))
        except ValueError:
            raise DataError("not a leaderboard cell (unreadable JSON); delete it to recompute", source=str(path)) from None
    return results


def read_leaderboard(out) -> pd.DataFrame:
    """One row per cell: benchmark, model, task, metric, score and its interval, normalized and its
    interval, n, seconds."""
    columns = ["benchmark", "model", "task", "metric", "score", "ci_low", "ci_high", "normalized", "normalized_ci_low",
               "normalized_ci_high", "n", "seconds"]
    return pd.DataFrame([{c: r.get(c) for c in columns} for r in read_cells(out)], columns=columns)


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


def benchmark_order(table: pd.DataFrame) -> list[str]:
    """The benchmarks of ``table`` in the listing order of ``cortexkit bench``."""
    present = list(dict.fromkeys(table["benchmark"]))
    return [b for b in BENCHMARKS if b in present] + [b for b in present if b not in BENCHMARKS]


def model_order(table: pd.DataFrame) -> list[str]:
    """Models grouped by task in the order of ``TASKS``, each group by mean rank over its benchmarks."""
    ranked = table.assign(rank=table.groupby("benchmark")["score"].rank(ascending=False),
                          task_order=table["task"].map({t: i for i, t in enumerate(TASKS)}))
    keys = ranked.groupby("model").agg(task_order=("task_order", "min"), rank=("rank", "mean"))
    return list(keys.sort_values(["task_order", "rank"]).index)


def paired_top(out, benchmark: str, k: int = 3) -> list[dict]:
    """Paired comparisons between the ``k`` best models of an encoding benchmark: per recording,
    :func:`cortexkit.evaluation.paired_comparison` on the same test stimuli, combined over
    recordings with :func:`cortexkit.evaluation.combine_sessions`. Decoding and reconstruction
    compare item scores (trials, images) with a paired bootstrap over items."""
    cells = sorted((r for r in read_cells(out) if r["benchmark"] == benchmark), key=lambda r: -r["score"])[:k]
    folder = Path(out) / CELLS / benchmark
    comparisons = []
    for i, a in enumerate(cells):
        for b in cells[i + 1:]:
            if a["task"] == "encoding":
                summary = _paired_encoding(out, benchmark, folder, a, b)
            else:
                summary = _paired_items(folder, a, b)
            comparisons.append({"a": a["model"], "b": b["model"], **summary})
    return comparisons


def _paired_encoding(out, benchmark: str, folder: Path, a: dict, b: dict) -> dict:
    arrays = {m["model"]: load_arrays(folder / f"{m['model']}.npz") for m in (a, b)}
    stores = {label: Path(out) / STORES / benchmark / f"{label}.zarr" for label in a["per_recording"]}
    summaries = {}
    for label, store in stores.items():
        test = data.select(data.open(store), "test")
        stim = arrays[a["model"]][f"stimulus/{label}"]
        order_b = pd.Index(arrays[b["model"]][f"stimulus/{label}"]).get_indexer(stim)
        if (order_b < 0).any():
            raise DataError(f"{b['model']} and {a['model']} predicted different test stimuli; rerun the leaderboard",
                            source=str(folder))
        y = scoring_targets(test, stim, a["metric"])
        _, summaries[label] = paired_comparison(y, arrays[a["model"]][f"prediction/{label}"],
                                                arrays[b["model"]][f"prediction/{label}"][order_b], seed=0)
    if len(summaries) == 1:
        first = next(iter(summaries.values()))
        return {"diff": first["median_diff"], "ci_low": first["ci_low"], "ci_high": first["ci_high"],
                "p": first["permutation_p"], "test": "stimulus swap", "fraction_a_better": first["fraction_a_better"]}
    combined = combine_sessions(summaries)
    return {"diff": combined["mean_median_diff"], "ci_low": combined["ci_low"], "ci_high": combined["ci_high"],
            "p": combined["wilcoxon_p"], "test": f"Wilcoxon over {combined['n_sessions']} recordings",
            "fraction_a_better": float(np.mean([s["fraction_a_better"] for s in summaries.values()]))}


def _paired_items(folder: Path, a: dict, b: dict) -> dict:
    items = {m["model"]: read_table(folder / f"{m['model']}.items.csv") for m in (a, b)}
    groups = items[a["model"]]["recording"].astype(str).to_numpy()
    if len(items[b["model"]]) != len(groups) or (items[b["model"]]["recording"].astype(str).to_numpy() != groups).any():
        raise DataError(f"{a['model']} and {b['model']} scored different items; rerun the leaderboard", source=str(folder))
    diffs = items[a["model"]]["score"].to_numpy(float) - items[b["model"]]["score"].to_numpy(float)
    interval = mean_interval([diffs[groups == g] for g in dict.fromkeys(groups)], seed=0)
    nonzero = diffs[np.isfinite(diffs) & (diffs != 0)]
    p = float(stats.wilcoxon(nonzero).pvalue) if len(nonzero) >= 2 else float("nan")
    return {"diff": interval["mean"], "ci_low": interval["ci_low"], "ci_high": interval["ci_high"], "p": p,
            "test": "Wilcoxon over items", "fraction_a_better": float(np.mean(diffs > 0))}


def metric_label(metric: str) -> str:
    """How a benchmark's headline metric is named in tables."""
    return METRICS.get(metric, metric)
