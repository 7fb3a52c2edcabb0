"""What every analysis shares: the store's train and test parts, the features of a feature space
(cached, scaled as in a ridge run), ridge fits on the training stimuli, test scores, and the output
folder (a table per result, figures, ``report.html``, ``config.yaml``)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from cortexkit import data, metrics
from cortexkit.config import provenance
from cortexkit.encoding import RidgeCV
from cortexkit.errors import ConfigError
from cortexkit.evaluation import data_fingerprint, noise_ceiling, write_run_record, write_table
from cortexkit.features.cache import FeatureCache
from cortexkit.pipelines.ridge.config import EncodingConfig, FeatureSpec, model_names, spec_extractor
from cortexkit.pipelines.ridge.fit import check_split, train_targets


@dataclass
class Recording:
    """A store split for an analysis: training targets (repeat-averaged, stimulus x unit), test
    targets in the order of ``test_stimuli``, each unit's noise ceiling (of r², None without repeats)."""

    path: str
    label: str
    ds: xr.Dataset
    train_stimuli: np.ndarray
    test_stimuli: np.ndarray
    y_train: np.ndarray
    y_test: np.ndarray
    ceiling: np.ndarray | None
    units: np.ndarray


def load_recording(store: str | os.PathLike, *, seed: int = 0, allow_overlap: bool = False, log=print) -> Recording:
    """The store at ``store``, checked as ``cortexkit fit`` checks it, split into train and test."""
    ds = data.load(store, check_values=True, allow_nan_responses=False)
    check_split(ds, store, allow_overlap, log)
    train, test = data.select(ds, "train"), data.select(ds, "test")
    y_train = train_targets(train)
    y_test = data.repeat_average(test).values
    ceiling = noise_ceiling(test, seed=seed, log=log)
    return Recording(str(store), Path(str(store).rstrip("/")).stem, ds, np.asarray(train["stimuli"].values), np.asarray(test["stimuli"].values),
                     y_train, y_test, ceiling, np.asarray(ds["unit"].values))


def load_recordings(stores, *, seed: int = 0, allow_overlap: bool = False, log=print) -> list[Recording]:
    """:func:`load_recording` of each store; their labels (file stems) must differ."""
    stores = [stores] if isinstance(stores, (str, os.PathLike)) else list(stores)
    if not stores:
        raise ConfigError("no store given")
    recs = [load_recording(s, seed=seed, allow_overlap=allow_overlap, log=log) for s in stores]
    labels = [r.label for r in recs]
    if len(set(labels)) != len(labels):
        raise ConfigError(f"stores need distinct file names (they label the recordings), got {labels}")
    return recs


def space_features(rec: Recording, spec: FeatureSpec, cache: FeatureCache, device: str = "cpu") -> dict[str, tuple]:
    """``{model name: (train features, test features)}`` of a feature space (one entry per layer),
    divided by the root mean feature variance on the train stimuli as in a ridge run."""
    extractor = spec_extractor(spec, device)
    f_train = cache.features(extractor, rec.train_stimuli, rec.train_stimuli)
    f_test = cache.features(extractor, rec.test_stimuli, rec.train_stimuli)
    out = {}
    for layer, name in model_names(spec):
        a, b = f_train[layer], f_test[layer]
        scale = float(np.sqrt(np.mean(a.var(axis=0)))) or 1.0
        out[name] = (a / scale, b / scale)
    return out


def ridge_predict(config: EncodingConfig, x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray) -> tuple:
    """Cross-validated ridge (the config's ridge settings, alphas chosen per unit on the training
    stimuli) -> (test prediction, the fitted model)."""
    model = RidgeCV(random_state=config.seed, device=config.device, **config.ridge.model_dump()).fit(x_train, y_train)
    return model.predict(x_test), model


def unit_scores(rec: Recording, prediction: np.ndarray) -> dict[str, np.ndarray]:
    """Per unit test scores of a prediction: Pearson r, R², and r² over the noise ceiling."""
    r = metrics.pearson(rec.y_test, prediction)
    out = {"pearson": r, "r2": metrics.r2(rec.y_test, prediction)}
    if rec.ceiling is not None:
        out["r2_over_ceiling"] = metrics.ceiling_normalized(r, rec.ceiling)
    return out


def write_record(out: Path, analysis: str, recs: list[Recording], settings: dict, seed: int) -> None:
    """``OUT/config.yaml``: the analysis, its stores (with their content fingerprints), settings, provenance."""
    write_run_record(out, {"analysis": analysis, "data": [str(Path(r.path).resolve()) for r in recs],
                           "data_fingerprint": [data_fingerprint(r.ds) for r in recs], "settings": settings,
                           "provenance": provenance(seed)})


def write_tables(out: Path, tables: dict[str, pd.DataFrame]) -> dict[str, Path]:
    """Each table as ``OUT/NAME.csv`` (atomically)."""
    return {name: write_table(table, out / f"{name}.csv") for name, table in tables.items()}
