"""The fixed-feature encoding flow, as a run directory that fills up step by step.

``fit_run``: store -> features of train and test stimuli -> :class:`~cortexkit.encoding.RidgeCV`
on the train split -> predictions for the test stimuli, one ``models/<name>.npz`` per feature space
(a finished model is skipped when the run is repeated, so an interrupted run resumes).

``evaluate_run``: predictions -> :mod:`cortexkit.metrics` against the test repeats, with split-half
noise ceilings -> ``results.csv`` (one row per model x unit) and ``summary.csv`` (medians per model,
and per cell type when the units have one).

Run directory::

    RUN/
      config.yaml        resolved config, data path, versions, seed
      models/NAME.npz    ridge weights, alphas, CV scores, test predictions (+ pixel RFs if linear)
      results.csv        per model x unit
      summary.csv        per model (x cell type)
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from cortexkit import data, metrics
from cortexkit._atomic import atomic_path, write_text
from cortexkit.benchmarks.config import EncodingConfig, FeatureSpec, RidgeSpec
from cortexkit.config import dump_yaml, load_yaml, parse, provenance
from cortexkit.encoding import RidgeCV
from cortexkit.errors import DataError
from cortexkit.features import FeatureExtractor, get_extractor
from cortexkit.features.base import is_video
from cortexkit.features.cache import FeatureCache

CONFIG_FILE = "config.yaml"
MODELS_DIR = "models"
RESULTS_FILE = "results.csv"
SUMMARY_FILE = "summary.csv"


def _train_targets(train: xr.Dataset) -> np.ndarray:
    if "time" in train["responses"].dims:
        raise DataError(
            "has a 'time' dim; fixed-feature encoding of images needs one response per trial "
            "(sum or average the time bins of the response window first)",
            variable="responses",
        )
    y = data.repeat_average(train).values
    missing = ~np.isfinite(y)
    if missing.any():
        units = np.asarray(train["unit"].values)[missing.any(axis=0)]
        raise DataError(
            f"{len(units)} unit(s) have no valid response on some training stimuli (e.g. {units[:3].tolist()})",
            variable="responses",
        )
    return y


def model_names(spec: FeatureSpec) -> list[tuple[str, str]]:
    """``(layer, model name)`` of every model a feature space makes, in depth order.

    Single-layer extractors make one model named after the spec; multi-layer ones (CNN layers)
    one per layer, named ``<spec>.<layer>``.
    """
    extractor = get_extractor(spec.name, spec.params)
    layers = extractor.layer_list()
    if len(layers) == 1 and layers[0] == extractor.name:
        return [(layers[0], spec.model_name)]
    return [(layer, f"{spec.model_name}.{layer}") for layer in layers]


def fit_feature_space(
    ds: xr.Dataset, spec: FeatureSpec, ridge: RidgeSpec, seed: int = 0, cache: FeatureCache | None = None,
    skip: set[str] | frozenset = frozenset(),
) -> dict[str, dict[str, np.ndarray]]:
    """Fit one feature space (every layer of it) on the train split and predict the test stimuli.

    Returns ``{model name: arrays}`` for the models not in ``skip``; the arrays are those stored in
    ``models/NAME.npz``: ``coef`` (unit, feature), ``intercept``, ``alpha``, ``cv_score`` (validation
    score at the chosen alpha), ``cv_scores`` (alpha, unit), ``alphas``, ``prediction`` (test
    stimulus, unit), ``stimulus`` and ``unit`` labels, ``feature_scale``, ``layer`` and
    ``receptive_field`` (unit, y, x[, channel]) for extractors linear in the pixels.

    Features are divided by one scalar, the root mean feature variance on the train stimuli, so
    that one alpha grid suits every feature space and layer.
    """
    train, test = data.select(ds, "train"), data.select(ds, "test")
    y_train = _train_targets(train)
    extractor = get_extractor(spec.name, spec.params)
    cache = cache or FeatureCache()
    x_train = np.asarray(train["stimuli"].values)
    f_train = cache.features(extractor, x_train, x_train)
    f_test = cache.features(extractor, np.asarray(test["stimuli"].values), x_train)
    # Extractors linear in the pixels map weights back to receptive fields (images only); they
    # need fitting when their features came from the cache.
    linear = type(extractor).receptive_fields is not FeatureExtractor.receptive_fields and not is_video(x_train)
    if linear and not hasattr(extractor, "input_shape_"):
        extractor.fit(x_train)
    out = {}
    for layer, name in model_names(spec):
        if name in skip:
            continue
        a, b = f_train[layer], f_test[layer]
        scale = float(np.sqrt(np.mean(a.var(axis=0)))) or 1.0
        model = RidgeCV(random_state=seed, **ridge.model_dump()).fit(a / scale, y_train)
        arrays = {
            "coef": (model.coef_ / scale).astype(np.float32),
            "intercept": model.intercept_,
            "alpha": model.alpha_,
            "cv_score": model.best_score_,
            "cv_scores": model.cv_scores_,
            "alphas": model.alphas_,
            "prediction": model.predict(b / scale).astype(np.float32),
            "stimulus": np.asarray(test["stimulus"].values),
            "unit": np.asarray(ds["unit"].values),
            "feature_scale": np.float64(scale),
            "layer": np.array(layer),
        }
        if linear:
            arrays["receptive_field"] = extractor.receptive_fields(arrays["coef"]).astype(np.float32)
        out[name] = arrays
    return out


def save_model(arrays: dict[str, np.ndarray], path: str | os.PathLike) -> Path:
    """Write a fitted model's arrays to ``path`` (.npz), atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:  # a file handle keeps numpy from appending ".npz" to the temp name
            np.savez(fh, **arrays)
    return Path(path)


def load_model(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read a model written by :func:`save_model`."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}
    except FileNotFoundError:
        raise DataError("no such model file", source=str(path)) from None
    except Exception as exc:
        raise DataError(f"cannot read the model file ({type(exc).__name__}: {exc})", source=str(path)) from None


def read_run_config(run_dir: str | os.PathLike) -> tuple[dict, EncodingConfig]:
    """The run's ``config.yaml`` as (raw mapping, typed encoding config)."""
    path = Path(run_dir) / CONFIG_FILE
    if not path.is_file():
        raise DataError("not a run directory (no config.yaml); create it with `cortexkit fit`", source=str(run_dir))
    raw = load_yaml(path)
    if "data" not in raw or "encoding" not in raw:
        raise DataError("missing 'data' or 'encoding'", source=str(path))
    return raw, parse(EncodingConfig, raw["encoding"], str(path))


def fit_run(
    data_path: str | os.PathLike,
    run_dir: str | os.PathLike,
    config: EncodingConfig | None = None,
    *,
    overwrite: bool = False,
    extra: dict | None = None,
    log=print,
) -> list[Path]:
    """Fit every feature space of ``config`` on the dataset at ``data_path``.

    Writes ``RUN/config.yaml`` and one ``RUN/models/NAME.npz`` per feature space. A model already
    on disk that was fitted on the same data (content hash) with the same settings is kept, so an
    interrupted run resumes; ``overwrite`` refits everything.

    Parameters
    ----------
    extra : dict, optional
        More entries for config.yaml (the demo records its simulation settings there).
    log : callable
        Receives one line per step.
    """
    config = config or EncodingConfig()
    run_dir = Path(run_dir)
    for spec in config.features:  # unknown names and bad parameters fail before any work
        get_extractor(spec.name, spec.params)
    ds = data.load(data_path, check_values=True)
    record = {"data": str(Path(data_path).resolve()), "encoding": config.model_dump(), **(extra or {})}
    record["provenance"] = provenance(config.seed)
    dump_yaml(record, run_dir / CONFIG_FILE)
    fingerprint = data_fingerprint(ds)
    cache = FeatureCache()
    paths = []
    for spec in config.features:
        # A model is reused only if it was fitted with the same data and settings.
        settings = json.dumps(
            # where the fit runs (scheduler) does not change its result
            {"data": fingerprint, "features": spec.model_dump(), "ridge": config.ridge.model_dump(exclude={"scheduler"}),
             "seed": config.seed},
            sort_keys=True,
        )
        names = [name for _, name in model_names(spec)]
        done = set()
        for name in names:
            path = run_dir / MODELS_DIR / f"{name}.npz"
            paths.append(path)
            if path.exists() and not overwrite:
                if str(load_model(path).get("settings", "")) == settings:
                    log(f"{name}: already fitted with these settings, kept ({path})")
                    done.add(name)
                else:
                    log(f"{name}: data or settings changed since the last fit, refitting")
        if len(done) == len(names):
            continue
        for name, arrays in fit_feature_space(ds, spec, config.ridge, config.seed, cache, skip=done).items():
            arrays["settings"] = np.array(settings)
            save_model(arrays, run_dir / MODELS_DIR / f"{name}.npz")
            log(f"{name}: {arrays['coef'].shape[1]} features, median CV {config.ridge.scoring} "
                f"{np.median(arrays['cv_score']):.3f}")
    return paths


def data_fingerprint(ds: xr.Dataset) -> str:
    """A content hash of what a fit depends on: stimuli, responses, trial ids and splits."""
    h = hashlib.sha1()
    for name in ("stimuli", "responses", "stimulus_id", "split"):
        values = np.ascontiguousarray(ds[name].values)
        h.update(f"{name}{values.shape}{values.dtype}".encode())
        h.update(values.tobytes() if values.dtype.kind != "U" else "\n".join(values.tolist()).encode())
    return h.hexdigest()


def _unit_table(ds: xr.Dataset) -> pd.DataFrame:
    """Unit coordinates (1-D, along ``unit``) as a table indexed like the units."""
    cols = {"unit": np.asarray(ds["unit"].values)}
    for name, coord in ds.coords.items():
        if name != "unit" and coord.dims == ("unit",):
            cols[name] = np.asarray(coord.values)
    return pd.DataFrame(cols)


def score_predictions(
    test: xr.Dataset,
    prediction: np.ndarray,
    stimulus: np.ndarray,
    ceiling: np.ndarray | None,
) -> pd.DataFrame:
    """Per-unit metrics of test-set predictions (rows in the order of ``test.unit``).

    Columns: ``pearson`` (r against the repeat-averaged responses), ``r2``, ``pearson_squared``,
    ``single_trial_pearson``, ``fev``, ``feve``, ``ceiling`` (split-half reliability, the ceiling
    of r²), ``normalized`` (r²/ceiling), and ``pearson_true`` (r against the noise-free rates) when
    the dataset is simulated.
    """
    avg = data.repeat_average(test)
    order = pd.Index(stimulus).get_indexer(avg["stimulus"].values)
    if (order < 0).any():
        raise DataError("predictions do not cover every test stimulus", variable="stimulus")
    pred = prediction[order]
    table = {
        "pearson": metrics.pearson(avg.values, pred),
        "r2": metrics.r2(avg.values, pred),
        "pearson_squared": metrics.pearson_squared(avg.values, pred),
    }
    nan = np.full(pred.shape[1], np.nan)
    try:
        rep = data.repeats(test)
    except DataError:  # no repeated test stimuli: no noise ceiling
        rep = None
    if rep is not None:
        rep_pred = pred[pd.Index(avg["stimulus"].values).get_indexer(rep["stimulus"].values)]
        table["single_trial_pearson"] = metrics.single_trial_correlation(rep.values, rep_pred)
        table["fev"] = metrics.fev(rep.values)
        table["feve"] = metrics.feve(rep.values, rep_pred)
    else:
        table.update(single_trial_pearson=nan, fev=nan, feve=nan)
    table["ceiling"] = nan if ceiling is None else ceiling
    table["normalized"] = metrics.ceiling_normalized(table["pearson"], table["ceiling"])
    if "true_rate" in test:
        truth = test["true_rate"].transpose("stimulus", "unit").values
        table["pearson_true"] = metrics.pearson(truth[order], pred)
    return pd.DataFrame(table)


def _rf_correlation(rf: np.ndarray, true_filter: np.ndarray) -> np.ndarray:
    """|Pearson r| between recovered and true receptive fields, per unit."""
    a = rf.reshape(len(rf), -1).astype(np.float64)
    b = true_filter.reshape(len(true_filter), -1).astype(np.float64)
    if a.shape != b.shape:
        return np.full(len(a), np.nan)
    return np.abs(metrics.pearson(a.T, b.T))


def evaluate_run(run_dir: str | os.PathLike, log=print) -> pd.DataFrame:
    """Score every fitted model of a run; write ``results.csv`` and ``summary.csv``.

    Returns the per-unit results table.
    """
    run_dir = Path(run_dir)
    raw, config = read_run_config(run_dir)
    ds = data.load(raw["data"])
    test = data.select(ds, "test")
    try:
        ceiling = metrics.split_half_reliability(
            data.repeats(test).values, n_splits=config.ceiling_splits, seed=config.seed
        )
    except DataError as exc:
        log(f"no noise ceiling: {exc}")
        ceiling = None
    units = _unit_table(ds)
    frames = []
    for spec in config.features:
        names = model_names(spec)
        for depth, (layer, name) in enumerate(names, start=1):
            path = run_dir / MODELS_DIR / f"{name}.npz"
            model = load_model(path)
            if not np.array_equal(model["unit"].astype(str), np.asarray(ds["unit"].values).astype(str)):
                raise DataError("units differ from the dataset's; refit with --overwrite", source=str(path))
            scores = score_predictions(test, model["prediction"], model["stimulus"], ceiling)
            scores.insert(0, "model", name)
            scores.insert(1, "feature_space", spec.model_name)
            scores.insert(2, "layer", layer if len(names) > 1 else "")
            scores.insert(3, "depth", depth if len(names) > 1 else 0)
            scores["alpha"] = model["alpha"]
            scores["cv_score"] = model["cv_score"]
            if "receptive_field" in model and "true_filter" in ds:
                scores["rf_corr"] = _rf_correlation(model["receptive_field"], ds["true_filter"].values)
            frames.append(pd.concat([units, scores], axis=1))
    results = pd.concat(frames, ignore_index=True)
    with atomic_path(run_dir / RESULTS_FILE) as tmp:
        results.to_csv(tmp, index=False)
    summary = summarize(results)
    write_text(run_dir / SUMMARY_FILE, summary.to_csv(index=False))
    return results


SUMMARY_METRICS = ("pearson", "ceiling", "normalized", "feve", "fev", "r2", "pearson_true", "rf_corr")


def summarize(results: pd.DataFrame) -> pd.DataFrame:
    """Median of each metric per model, and per model x cell type when units have a type."""
    cols = [m for m in SUMMARY_METRICS if m in results and results[m].notna().any()]
    groups = [["model"]] + ([["model", "cell_type"]] if "cell_type" in results else [])
    parts = []
    for keys in groups:
        g = results.groupby(keys, sort=False)
        part = g[cols].median().add_prefix("median_")
        part.insert(0, "n_units", g.size())
        part = part.reset_index()
        if "cell_type" not in keys and "cell_type" in results:
            part.insert(1, "cell_type", "all")
        parts.append(part)
    return pd.concat(parts, ignore_index=True)
