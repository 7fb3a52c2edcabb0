"""Scoring a ridge run: its models' test predictions -> :func:`cortexkit.evaluation.score_predictions`
against the test repeats, with noise ceilings -> ``results.csv`` (one row per model x unit) and
``summary.csv`` (medians per model, and per cell type or area when the units have one)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from cortexkit import data
from cortexkit.config import parse
from cortexkit.errors import DataError
from cortexkit._atomic import write_text
from cortexkit.evaluation import (MODELS_DIR, data_fingerprint, RESULTS_FILE, SUMMARY_FILE, ceiling_warning, load_arrays, noise_ceiling,
                                  read_run_record, rf_correlation, score_predictions, summarize, to_markdown, unit_table, write_table)
from cortexkit.evaluation.brain_maps import write_score_maps
from cortexkit.pipelines.ridge.config import BANDED, STACKED, EncodingConfig, model_names


def read_encoding_run(run_dir: str | os.PathLike) -> tuple[dict, EncodingConfig]:
    """A ridge run's ``config.yaml`` as (raw mapping, typed encoding config)."""
    raw = read_run_record(run_dir, required=("data", "encoding"))
    return raw, parse(EncodingConfig, raw["encoding"], str(Path(run_dir) / "config.yaml"))


def check_unchanged(ds, record: dict, run_dir) -> None:
    """A DataError when the store a run was fitted on has changed since (its content fingerprint, kept
    in ``config.yaml``, differs): its models' predictions would be scored against other responses."""
    fitted = record.get("data_fingerprint")
    if fitted is not None and fitted != data_fingerprint(ds):
        raise DataError(f"changed since the models of {run_dir} were fitted (its content fingerprint differs); refit "
                        "them (`cortexkit fit` with the same --out) before scoring", source=str(record["data"]))


def split_r2(test, model: dict) -> np.ndarray:
    """Each feature space's share of a banded model's test R² against the repeat-averaged responses,
    (space, unit), in the order of the model's stimuli; the shares sum to the R² of the centered prediction."""
    from cortexkit import metrics

    y = data.repeat_average(test).sel(stimulus=model["stimulus"]).values
    return metrics.r2_split(y, model["prediction_split"])


def evaluate_run(run_dir: str | os.PathLike, log=print) -> pd.DataFrame:
    """Score every fitted model of a run; write ``results.csv`` and ``summary.csv``.

    Returns the per-unit results table.
    """
    run_dir = Path(run_dir)
    raw, config = read_encoding_run(run_dir)
    ds = data.time_bins_as_units(data.load(raw["data"]))  # time-resolved: scored per unit and bin, as fitted
    data.require_recorded(ds, str(raw["data"]), ("test",))
    check_unchanged(ds, raw, run_dir)
    test = data.select(ds, "test")
    ceiling = noise_ceiling(test, n_splits=config.ceiling_splits, seed=config.seed, log=log)
    warning = ceiling_warning(ceiling)
    if warning:
        log(f"warning: {warning}")
    if ceiling is not None and (~(ceiling > 0)).any():
        log(f"{int((~(ceiling > 0)).sum())} unit(s) have a ceiling <= 0 (no reliable signal across repeats): "
            "no ceiling-normalised score, left out of its median")
    units = unit_table(ds)
    # (model, feature space, layer, depth) of every model the run holds, the stacked one last
    entries = []
    for spec in config.features:
        names = model_names(spec)
        entries += [(name, spec.model_name, layer if len(names) > 1 else "", depth if len(names) > 1 else 0)
                    for depth, (layer, name) in enumerate(names, start=1)]
    if config.stack is not None:
        entries.append((STACKED, STACKED, "", 0))
    if config.banded is not None:
        entries.append((BANDED, BANDED, "", 0))
    frames = []
    for name, space, layer, depth in entries:
        path = run_dir / MODELS_DIR / f"{name}.npz"
        model = load_arrays(path)
        if not np.array_equal(model["unit"].astype(str), np.asarray(ds["unit"].values).astype(str)):
            raise DataError("units differ from the dataset's; refit with --overwrite", source=str(path))
        scores = score_predictions(test, model["prediction"], model["stimulus"], ceiling,
                                   n_permutations=config.permutations, seed=config.seed)
        for position, (column, value) in enumerate([("model", name), ("feature_space", space), ("layer", layer),
                                                    ("depth", depth)]):
            scores.insert(position, column, value)
        if "left_out" in model:  # units the fit left out say why (recorded on too few training stimuli)
            why = np.asarray(model["left_out"]).astype(str)
            if (why != "").any():
                earlier = scores["not_scored"].to_numpy() if "not_scored" in scores else np.full(len(why), "")
                scores["not_scored"] = np.where(why != "", why, earlier)
        scores["alpha"] = model["alpha"]
        scores["cv_score"] = model["cv_score"]
        if "prediction_split" in model:  # each feature space's share of the test R² (product measure)
            shares = split_r2(test, model)
            for band, share in zip(model["bands"], shares):
                scores[f"r2_share.{band}"] = share
        if "receptive_field" in model and "true_filter" in ds:
            scores["rf_corr"] = rf_correlation(model["receptive_field"], ds["true_filter"].values)
        frames.append(pd.concat([units, scores], axis=1))
    results = pd.concat(frames, ignore_index=True)
    write_table(results, run_dir / RESULTS_FILE)
    maps = write_score_maps(ds, results, run_dir, log=log)  # fMRI stores that keep their voxel grid
    if maps:
        log(f"score maps: {len(maps)} NIfTI volumes in {maps[0].parent}")
    summary = summarize(results)
    write_table(summary, run_dir / SUMMARY_FILE)
    write_text(run_dir / "summary.md", to_markdown(summary))  # for documents: the same table as markdown
    return results



