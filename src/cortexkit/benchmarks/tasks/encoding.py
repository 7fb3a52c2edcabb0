"""Encoding cells: ridge models (``cortexkit fit``), trained predictors (``cortexkit train``) and
published checkpoints (``cortexkit train --from-checkpoint``) on every recording of a benchmark,
scored by the same code as ``cortexkit evaluate``.

The cell's items are the run's own ``results.csv`` rows (one per unit and reported model) with the
recording, the benchmark's metric as ``score`` and a ``headline`` flag; the headline score is the
median over units, pooled over recordings, with a bootstrap interval over test stimuli. A ridge
model that reports every layer of a feature space takes, on each recording, the layer with the best
median cross-validated score on the training split as its headline
(:func:`cortexkit.evaluation.selection_record`, kept with the CV scores behind it): the test
responses only score the choice.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from cortexkit import data
from cortexkit.benchmarks.cells import Cell
from cortexkit.errors import DataError
from cortexkit.evaluation import (MODELS_DIR, load_arrays, median_r_interval, read_run_record, read_table, run_kind,
                                  selection_record)
from cortexkit.pipelines import (checkpoint_run, evaluate_predictor, evaluate_run, fit_run, load_trained, saved_predictions,
                                 stimulus_predictions, train_predictor)

FITS = "fits"  # ridge models shared by every cell of a results store (same data and settings: fitted once)


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


def _median(values) -> float:
    v = np.asarray(values, dtype=float)
    return float(np.nanmedian(v)) if np.isfinite(v).any() else float("nan")


def encoding_result(cell: Cell, results: dict[str, pd.DataFrame], arrays: dict[str, np.ndarray], seed: int = 0):
    """The cell's result, items and arrays from each recording's per-unit results (rows of the
    reported models, a ``model`` and a ``layer`` column) and saved predictions."""
    metric = cell.benchmark.metric
    frames, pairs, recorded, ceilings, per_recording = [], [], [], [], {}
    for label, table in results.items():
        table = table.copy()
        medians = table.groupby("model", sort=False)["pearson"].median()
        selection = selection_record(table) if len(medians) > 1 else None
        headline = selection["chosen"] if selection else medians.index[0]
        table.insert(0, "recording", label)
        table["score"] = table[metric]
        table["headline"] = table["model"] == headline
        frames.append(table)
        rows = table[table["headline"]]
        pred, stimulus = arrays[f"prediction/{label}/{headline}"], arrays[f"stimulus/{label}/{headline}"]
        test = data.select(data.open(cell.stores[label]), "test")
        pairs.append((scoring_targets(test, stimulus, metric), pred))
        recorded.append((scoring_targets(test, stimulus, "pearson"), pred))
        ceilings.append(rows["ceiling"].to_numpy(float))
        per_recording[label] = {"score": float(rows["score"].median()), "n": int(rows["score"].notna().sum()),
                                "normalized": float(rows["normalized"].median()), "pearson": float(rows["pearson"].median()),
                                "ceiling": float(rows["ceiling"].median()), "headline": headline}
        if selection:
            layer_of = {m: str(table.loc[table["model"] == m, "layer"].iloc[0]) for m in medians.index}
            per_recording[label]["layers"] = {layer_of[m]: float(v) for m, v in medians.items()}  # test r, reported
            per_recording[label]["selection"] = {"layer": layer_of[headline], "selected_by": selection["selected_by"],
                                                 "cv": {layer_of[m]: v for m, v in selection["cv"].items()}}
    items = pd.concat(frames, ignore_index=True)
    heads = items[items["headline"]]
    interval = median_r_interval(pairs, seed=seed)
    # r²/ceiling is defined on the recorded responses (also where the headline uses the true rates)
    normalized = median_r_interval(recorded, ceilings=ceilings, seed=seed)
    result = {"score": interval["median"], "ci_low": interval["ci_low"], "ci_high": interval["ci_high"],
              "n": interval["n_units"], "normalized": normalized["normalized"],
              "normalized_ci_low": normalized["normalized_ci_low"], "normalized_ci_high": normalized["normalized_ci_high"],
              "n_normalized": int(heads["normalized"].notna().sum()), "normalization": "r²/ceiling",
              "ceiling": _median(heads["ceiling"]), "per_recording": per_recording}
    if metric == "pearson_true":
        result["pearson"] = _median(heads["pearson"])
    return result, items, arrays


def _moved(run_dir: Path, store) -> bool:
    """Whether a run directory was written for a store at another path (a moved or copied results
    store): it is then refitted rather than refused."""
    if run_kind(run_dir) is None:
        return False
    return read_run_record(run_dir).get("data") != str(Path(store).resolve())


def with_sources(config, sources: list[dict] | None):
    """``config`` with every feature space's ``{sources}`` (the population embedding's source recordings)
    replaced by one recording's transfer sources; a DataError when a model needs sources and the
    benchmark has none for it."""
    from cortexkit.encoding.transfer import SOURCES_TEMPLATE

    specs = []
    for spec in config.features:
        if spec.params.get("recordings") == SOURCES_TEMPLATE:
            if not sources:
                raise DataError(f"feature space {spec.model_name!r} is fitted on the benchmark's other recordings "
                                "({sources}); this benchmark has no transfer sources for the recording", variable="recordings")
            spec = spec.model_copy(update={"params": {**spec.params, "recordings": list(sources)}})
        specs.append(spec)
    return config.model_copy(update={"features": specs})


def ridge_cell(cell: Cell, log):
    """Fit the model on each recording (``fit_run``), score it with ``evaluate_run``."""
    names = cell.model.outputs()
    results, arrays = {}, {}
    for label, store in cell.stores.items():
        config = with_sources(cell.model.encoding(), cell.sources.get(label))
        run_dir = cell.run_dir(label)
        say = (lambda m, label=label: log(f"{label}: {m}"))
        fit_run(store, run_dir, config, overwrite=_moved(run_dir, store), model_cache=Path(cell.out) / FITS, log=say)
        table = evaluate_run(run_dir, log=say)
        results[label] = table[table["model"].isin(names)]
        for name in names:
            model = load_arrays(run_dir / MODELS_DIR / f"{name}.npz")
            arrays[f"prediction/{label}/{name}"] = model["prediction"]
            arrays[f"stimulus/{label}/{name}"] = model["stimulus"]
    return encoding_result(cell, results, arrays, cell.model.encoding().seed)


def trained_cell(cell: Cell, log):
    """Train one core over all recordings (a readout each), score it with ``evaluate_predictor``."""
    config = cell.model.training([{"path": path, "key": label} for label, path in cell.stores.items()])
    run_dir = cell.run_dir()
    run = train_predictor(config, run_dir, log=log)
    run.model.eval()
    evaluate_predictor(run, run_dir)
    table = read_table(run_dir / "results.csv")
    results, arrays = {}, {}
    for label in cell.stores:
        rows = table[table["session"].astype(str) == label].drop(columns="session").assign(layer="")
        name = str(rows["model"].iloc[0])
        results[label] = rows
        arrays[f"prediction/{label}/{name}"], arrays[f"stimulus/{label}/{name}"] = _test_predictions(run_dir, label, run)
    return encoding_result(cell, results, arrays, config.seed)


def published_cell(cell: Cell, log):
    """A published checkpoint made into a run on each recording (its units must be the checkpoint's),
    scored like a trained run. Recordings a checkpoint has no models of (a session without published
    compact models) are left out of its cell, and said so."""
    import shutil

    config = cell.model.config
    checkpoint = cell.model.checkpoint(cell.data_root)
    results, arrays = {}, {}
    for label, store in cell.stores.items():
        say = (lambda m, label=label: log(f"{label}: {m}"))
        if config["format"] == "cowley_compact" and not _covers(checkpoint, store):
            say("no published compact models of this session: not scored")
            continue
        run_dir = cell.run_dir(label)
        if (run_dir / "model.pt").is_file():  # made before: the cell changed (its fingerprint), so make it again
            shutil.rmtree(run_dir)
        checkpoint_run(checkpoint, config["format"], store, run_dir, key=label, skip_frames=config.get("skip_frames"),
                       log=say)
        rows = read_table(run_dir / "results.csv")
        results[label] = rows[rows["session"].astype(str) == label].drop(columns="session").assign(layer="")
        name = str(results[label]["model"].iloc[0])
        arrays[f"prediction/{label}/{name}"], arrays[f"stimulus/{label}/{name}"] = _test_predictions(run_dir, label)
    if not results:
        raise DataError(f"{checkpoint} has models of none of the recordings ({', '.join(cell.stores)})")
    return encoding_result(cell, results, arrays)


def _test_predictions(run_dir: Path, key: str, run=None) -> tuple[np.ndarray, np.ndarray]:
    """A trained or published run's test predictions of session ``key`` as its scoring saved them (predicting
    again only for a run scored before they were kept)."""
    saved = saved_predictions(run_dir, key)
    return saved if saved is not None else stimulus_predictions(run if run is not None else load_trained(run_dir), key)


def _covers(folder: Path, store) -> bool:
    """Whether a folder of compact models has a model of the store's session."""
    from cortexkit.encoding.compact_models import available_neurons
    from cortexkit.encoding.predictor.compact import unit_neurons

    session, _ = unit_neurons(data.open(store), str(store))
    return bool(available_neurons(folder, session))
