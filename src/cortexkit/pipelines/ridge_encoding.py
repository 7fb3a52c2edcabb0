"""The fixed-feature encoding pipeline: ridge on stimulus features, as a run directory that fills
up step by step.

``fit_run``: store -> features of train and test stimuli (cached) -> :class:`~cortexkit.encoding.RidgeCV`
on the train split -> predictions for the test stimuli, one ``models/<name>.npz`` per feature space
(a finished model is skipped when the run is repeated, so an interrupted run resumes).

``evaluate_run``: predictions -> :func:`cortexkit.evaluation.score_predictions` against the test
repeats, with split-half noise ceilings -> ``results.csv`` (one row per model x unit) and
``summary.csv`` (medians per model, and per cell type when the units have one).

Run directory (see :mod:`cortexkit.evaluation.runs`)::

    RUN/
      config.yaml        resolved config, data path, versions, seed
      models/NAME.npz    ridge weights, alphas, CV scores, test predictions (+ pixel RFs if linear)
      results.csv        per model x unit
      summary.csv        per model (x cell type)
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from pydantic import BaseModel, ConfigDict, Field, field_validator

from cortexkit import data, metrics
from cortexkit.config import check_device, parse, provenance, require_device
from cortexkit.encoding import RidgeCV
from cortexkit.encoding.ridge import DEFAULT_ALPHAS
from cortexkit.encoding.stacking import kfold_indices, ridge_oof_predictions, stack_weights, stacked_prediction
from cortexkit.errors import ConfigError, DataError
from cortexkit.evaluation import (
    MODELS_DIR,
    RESULTS_FILE,
    SUMMARY_FILE,
    ceiling_warning,
    data_fingerprint,
    load_arrays,
    load_if_settings_match,
    noise_ceiling,
    read_run_record,
    rf_correlation,
    run_kind,
    run_lock,
    save_arrays,
    score_predictions,
    summarize,
    unit_table,
    write_run_record,
    write_table,
)
from cortexkit.features import FeatureExtractor, get_extractor
from cortexkit.features.base import is_video
from cortexkit.features.cache import FeatureCache


class FeatureSpec(BaseModel):
    """One feature space: an extractor from the registry and its parameters."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="registry name, e.g. pixels, pixel_pca, gabor")
    params: dict[str, Any] = Field(default_factory=dict, description="keyword arguments of the extractor")
    label: str | None = Field(None, description="model name in results (defaults to name)")

    @property
    def model_name(self) -> str:
        return self.label or self.name


class RidgeSpec(BaseModel):
    """Settings of :class:`cortexkit.encoding.RidgeCV`."""

    model_config = ConfigDict(extra="forbid")

    alphas: list[float] = Field(default_factory=lambda: [float(a) for a in DEFAULT_ALPHAS])
    cv: int = Field(5, ge=2)
    scoring: str = "r2"
    fit_intercept: bool = True
    standardize: bool = False
    device: str = "cpu"
    dtype: str = "float32"
    chunk_size: int | None = Field(None, ge=1, description="most targets per block")
    max_memory: str | None = Field(None, description="memory budget of a fit, e.g. 4GB")
    scheduler: str | None = Field(None, description="Dask scheduler address, e.g. tcp://host:8786")

    _device = field_validator("device")(classmethod(lambda cls, v: check_device(v)))


STACKED = "stacked"


class StackSpec(BaseModel):
    """A stacked model over fitted ones (:mod:`cortexkit.encoding.stacking`): per unit, convex weights
    of the models' predictions fitted to their out-of-fold predictions on the training stimuli."""

    model_config = ConfigDict(extra="forbid")

    models: list[str] = Field(default_factory=list, description="model names to combine (default: every model of the run)")
    cv: int = Field(5, ge=2, description="folds of the out-of-fold predictions")


class EncodingConfig(BaseModel):
    """An encoding run: fit each feature space on the train split, score on the test split."""

    model_config = ConfigDict(extra="forbid")

    features: list[FeatureSpec] = Field(
        default_factory=lambda: [FeatureSpec(name="pixels"), FeatureSpec(name="pixel_pca"), FeatureSpec(name="gabor")]
    )
    ridge: RidgeSpec = Field(default_factory=RidgeSpec)
    ceiling_splits: int = Field(50, ge=1, description="random split-halves for the noise ceiling")
    stack: StackSpec | None = Field(None, description="also fit a stacked model over the fitted ones")
    seed: int = 0

    @field_validator("features")
    @classmethod
    def _unique_labels(cls, specs: list[FeatureSpec]) -> list[FeatureSpec]:
        names = [s.model_name for s in specs]
        if len(set(names)) != len(names):
            raise ValueError(f"feature spaces need distinct labels, got {names}")
        if not specs:
            raise ValueError("at least one feature space is needed")
        return specs


def train_targets(train: xr.Dataset) -> np.ndarray:
    """Repeat-averaged training responses (stimulus, unit); a DataError for time bins or missing values."""
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
    skip: set[str] | frozenset = frozenset(), log=None,
) -> dict[str, dict[str, np.ndarray]]:
    """Fit one feature space (every layer of it) on the train split and predict the test stimuli.

    Returns ``{model name: arrays}`` for the models not in ``skip``; the arrays are those stored in
    ``models/NAME.npz``: ``coef`` (unit, feature), ``intercept``, ``alpha``, ``cv_score`` (validation
    score at the chosen alpha), ``cv_scores`` (alpha, unit), ``alphas``, ``prediction`` (test
    stimulus, unit), ``stimulus`` and ``unit`` labels, ``feature_scale``, ``layer`` and
    ``receptive_field`` (unit, y, x[, channel]) for extractors linear in the pixels.

    Features are divided by one scalar, the root mean feature variance on the train stimuli, so
    that one alpha grid suits every feature space and layer. ``log``, when given, receives a line
    with the time spent extracting features and fitting ridge (the profile of a long run).
    """
    started = time.perf_counter()
    train, test = data.select(ds, "train"), data.select(ds, "test")
    y_train = train_targets(train)
    extractor = get_extractor(spec.name, spec.params)
    cache = cache or FeatureCache()
    x_train = np.asarray(train["stimuli"].values)
    computed = cache.rows_computed
    f_train = cache.features(extractor, x_train, x_train)
    f_test = cache.features(extractor, np.asarray(test["stimuli"].values), x_train)
    computed = cache.rows_computed - computed
    extracted = time.perf_counter()
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
    if log is not None:
        done = time.perf_counter()
        what = (f"features of {computed} stimuli in {extracted - started:.1f} s "
                f"({computed / max(extracted - started, 1e-9):.0f}/s)" if computed else "features from the cache")
        log(f"{spec.model_name}: {what}; ridge on {len(out)} layer(s) in {done - extracted:.1f} s")
    return out


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
    require_device(config.ridge.device, "ridge device")
    ds = data.load(data_path, check_values=True)
    with run_lock(run_dir):
        config = _accumulated(run_dir, data_path, config, overwrite, log)
        record = {"data": str(Path(data_path).resolve()), "encoding": config.model_dump(), **(extra or {})}
        record["provenance"] = provenance(config.seed)
        write_run_record(run_dir, record)
        return _fit_models(ds, run_dir, config, overwrite, log)


def _accumulated(run_dir: Path, data_path, config: EncodingConfig, overwrite: bool, log) -> EncodingConfig:
    """``config`` with the feature spaces already fitted in ``run_dir`` added, so that a second fit
    into a run adds models instead of hiding the earlier ones (``overwrite`` starts afresh)."""
    if overwrite or run_kind(run_dir) is None:
        return config
    raw = read_run_record(run_dir)
    if "encoding" not in raw:
        raise ConfigError(f"{run_dir} holds a {run_kind(run_dir)} run; fit into another --out")
    if raw.get("data") != str(Path(data_path).resolve()):
        raise ConfigError(f"{run_dir} holds models of {raw.get('data')}; fit {data_path} into another --out, "
                          "or pass --overwrite to replace them")
    earlier = parse(EncodingConfig, raw["encoding"], str(run_dir / "config.yaml")).features
    labels = {s.model_name for s in config.features}
    kept = [s for s in earlier if s.model_name not in labels]
    if kept:
        log(f"{run_dir} already holds {', '.join(s.model_name for s in kept)}: kept in the run")
    return config.model_copy(update={"features": kept + list(config.features)})


def _fit_models(ds: xr.Dataset, run_dir: Path, config: EncodingConfig, overwrite: bool, log) -> list[Path]:
    """Fit (or keep) every model of ``config``; the part of :func:`fit_run` done under the run lock."""
    fingerprint = data_fingerprint(ds)
    _report_constant_units(ds, log)
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
                if load_if_settings_match(path, settings) is not None:
                    log(f"{name}: already fitted with these settings, kept ({path})")
                    done.add(name)
                else:
                    log(f"{name}: data or settings changed since the last fit, refitting")
        if len(done) == len(names):
            continue
        for name, arrays in fit_feature_space(ds, spec, config.ridge, config.seed, cache, skip=done, log=log).items():
            arrays["settings"] = np.array(settings)
            save_arrays(arrays, run_dir / MODELS_DIR / f"{name}.npz")
            log(f"{name}: {arrays['coef'].shape[1]} features, median CV {config.ridge.scoring} "
                f"{np.nanmedian(arrays['cv_score']):.3f}")
    if config.stack is not None:
        paths.append(_fit_stack(ds, run_dir, config, cache, overwrite, log))
    return paths


def stack_components(config: EncodingConfig) -> list[tuple[FeatureSpec, str, str]]:
    """``(spec, layer, model name)`` of the models a stacked model combines, in config order."""
    every = [(spec, layer, name) for spec in config.features for layer, name in model_names(spec)]
    wanted = config.stack.models if config.stack is not None else []
    if not wanted:
        return every
    known = {name for _, _, name in every}
    unknown = [m for m in wanted if m not in known]
    if unknown:
        raise ConfigError(f"stack.models names {unknown}, which the run does not fit; models: {sorted(known)}")
    return [c for c in every if c[2] in wanted]


def _fit_stack(ds: xr.Dataset, run_dir: Path, config: EncodingConfig, cache: FeatureCache, overwrite: bool, log) -> Path:
    """Fit the stacked model: out-of-fold predictions of each component (its own alphas), simplex
    weights per unit on them, and the weighted sum of the components' test predictions."""
    path = run_dir / MODELS_DIR / f"{STACKED}.npz"
    components = stack_components(config)
    if len(components) < 2:
        raise ConfigError(f"a stacked model needs at least two models; the run has {[c[2] for c in components]}")
    saved = {name: load_arrays(run_dir / MODELS_DIR / f"{name}.npz") for _, _, name in components}
    settings = json.dumps({"stack": config.stack.model_dump(), "seed": config.seed,
                           "components": {n: str(a["settings"]) for n, a in saved.items()}}, sort_keys=True)
    if path.exists() and not overwrite and load_if_settings_match(path, settings) is not None:
        log(f"{STACKED}: already fitted with these components, kept ({path})")
        return path
    train = data.select(ds, "train")
    y = train_targets(train)
    x_train = np.asarray(train["stimuli"].values)
    folds = kfold_indices(len(y), config.stack.cv, config.seed)
    started = time.perf_counter()
    oof = []
    for spec, layer, name in components:
        features = cache.features(get_extractor(spec.name, spec.params), x_train, x_train)[layer]
        model = saved[name]
        oof.append(ridge_oof_predictions(features / float(model["feature_scale"]), y, model["alpha"], folds))
        log(f"{STACKED}: out-of-fold predictions of {name}")
    oof = np.stack(oof, axis=-1)
    weights = stack_weights(oof, y)
    arrays = {
        "prediction": stacked_prediction(np.stack([saved[n]["prediction"] for _, _, n in components], -1), weights).astype(np.float32),
        "stimulus": saved[components[0][2]]["stimulus"],
        "unit": saved[components[0][2]]["unit"],
        "weights": weights.astype(np.float32),
        "components": np.array([n for _, _, n in components]),
        "alpha": np.full(y.shape[1], np.nan),
        "cv_score": metrics.pearson(y, stacked_prediction(oof, weights)),
        "settings": np.array(settings),
    }
    save_arrays(arrays, path)
    top = np.array([n for _, _, n in components])[np.argsort(-weights.mean(0))[:3]]
    log(f"{STACKED}: {len(components)} models, out-of-fold median r {np.nanmedian(arrays['cv_score']):.3f}; "
        f"largest mean weights: {', '.join(top)} ({time.perf_counter() - started:.1f} s)")
    return path


def _report_constant_units(ds: xr.Dataset, log) -> None:
    """Name the units whose training responses are constant: no model can predict them, their scores
    are NaN, and medians leave them out (the summary's n_scored says how many remain)."""
    y = train_targets(data.select(ds, "train"))
    constant = np.asarray(ds["unit"].values)[~(np.nanstd(y, axis=0) > 0)]
    if len(constant):
        log(f"{len(constant)} unit(s) have constant responses on the training stimuli and are not scored: "
            f"{', '.join(map(str, constant[:10]))}{' ...' if len(constant) > 10 else ''}")


def read_encoding_run(run_dir: str | os.PathLike) -> tuple[dict, EncodingConfig]:
    """A ridge run's ``config.yaml`` as (raw mapping, typed encoding config)."""
    raw = read_run_record(run_dir, required=("data", "encoding"))
    return raw, parse(EncodingConfig, raw["encoding"], str(Path(run_dir) / "config.yaml"))


def evaluate_run(run_dir: str | os.PathLike, log=print) -> pd.DataFrame:
    """Score every fitted model of a run; write ``results.csv`` and ``summary.csv``.

    Returns the per-unit results table.
    """
    run_dir = Path(run_dir)
    raw, config = read_encoding_run(run_dir)
    ds = data.load(raw["data"])
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
    frames = []
    for name, space, layer, depth in entries:
        path = run_dir / MODELS_DIR / f"{name}.npz"
        model = load_arrays(path)
        if not np.array_equal(model["unit"].astype(str), np.asarray(ds["unit"].values).astype(str)):
            raise DataError("units differ from the dataset's; refit with --overwrite", source=str(path))
        scores = score_predictions(test, model["prediction"], model["stimulus"], ceiling)
        for position, (column, value) in enumerate([("model", name), ("feature_space", space), ("layer", layer),
                                                    ("depth", depth)]):
            scores.insert(position, column, value)
        scores["alpha"] = model["alpha"]
        scores["cv_score"] = model["cv_score"]
        if "receptive_field" in model and "true_filter" in ds:
            scores["rf_corr"] = rf_correlation(model["receptive_field"], ds["true_filter"].values)
        frames.append(pd.concat([units, scores], axis=1))
    results = pd.concat(frames, ignore_index=True)
    write_table(results, run_dir / RESULTS_FILE)
    summary = summarize(results)
    write_table(summary, run_dir / SUMMARY_FILE)
    return results




def feature_specs(names: str | None, *, layers: str | None = None, params: dict | None = None,
                  default: list[FeatureSpec] | None = None) -> list[FeatureSpec]:
    """Feature spaces from a comma list of registry names (or ``default`` when none are given), with
    ``layers`` ("all", "last" or a comma list) and extractor ``params`` set where the extractor takes them.

    Examples
    --------
    >>> [s.params for s in feature_specs("pixels,alexnet", layers="conv2,conv5")]
    [{}, {'layers': ['conv2', 'conv5']}]
    """
    if names is not None and not names.strip(","):
        raise ConfigError("--features is empty; `cortexkit features` lists the feature spaces")
    specs = [FeatureSpec(name=n.strip()) for n in (names or "").split(",") if n.strip()] or list(default or [])
    params = dict(params or {})
    out, taken, layered = [], set(), []
    for spec in specs:
        accepted = get_extractor(spec.name, spec.params).get_params(deep=False)
        new = dict(spec.params)
        if layers is not None and "layers" in accepted:
            new["layers"] = layers if layers in ("all", "last") else [v.strip() for v in layers.split(",")]
            layered.append(spec.name)
        new.update({k: v for k, v in params.items() if k in accepted})
        taken |= set(params) & set(accepted)
        out.append(spec.model_copy(update={"params": new}))
        get_extractor(spec.name, new).layer_list()  # unknown layers and bad values fail here, naming the choices
    if set(params) - taken:
        raise ConfigError(f"no feature space in {[s.name for s in specs]} takes parameter(s) {sorted(set(params) - taken)}; "
                          "`cortexkit features` lists each one's parameters")
    if layers is not None and not layered:
        raise ConfigError(f"--layers applies to multi-layer feature spaces (alexnet, vgg16, efficientnet_lite0, "
                          f"expansion); {[s.name for s in specs]} have none")
    return out
