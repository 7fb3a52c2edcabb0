"""The banded model of a ridge run: one :class:`~cortexkit.encoding.BandedRidgeCV` on the joined
features of several of the run's models, a penalty per feature space and unit chosen by CV on the
training stimuli. Its test prediction is kept whole (scored like any model) and split per space
(``prediction_split``), which variance partitioning and the attribution of a unit's prediction to
its feature spaces read."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import xarray as xr

from cortexkit import data, metrics
from cortexkit._atomic import copy_file
from cortexkit.encoding import BandedRidgeCV
from cortexkit.errors import ConfigError, listed
from cortexkit.evaluation import MODELS_DIR, load_arrays, load_if_settings_match, save_arrays
from cortexkit.features.cache import FeatureCache
from cortexkit.pipelines.ridge.config import BANDED, EncodingConfig, FeatureSpec, model_names, spec_extractor
from cortexkit.pipelines.ridge.models import cached_model, reuse_model


def banded_components(config: EncodingConfig) -> list[tuple[FeatureSpec, str, str]]:
    """``(spec, layer, model name)`` of the models a banded model joins, in config order."""
    every = [(spec, layer, name) for spec in config.features for layer, name in model_names(spec)]
    wanted = config.banded.models if config.banded is not None else []
    if not wanted:
        return every
    known = {name for _, _, name in every}
    unknown = [m for m in wanted if m not in known]
    if unknown:
        raise ConfigError(f"banded.models names {listed(unknown)}, which the run does not fit; models: {listed(sorted(known))}")
    if len(set(wanted)) != len(wanted):
        raise ConfigError(f"banded.models lists a model twice: {wanted}")
    return [c for c in every if c[2] in wanted]


def fit_banded(ds: xr.Dataset, run_dir: Path, config: EncodingConfig, cache: FeatureCache, overwrite: bool, log,
               model_cache=None) -> Path:
    """Fit the banded model over the run's models (kept if fitted alike before); returns its path."""
    path = run_dir / MODELS_DIR / f"{BANDED}.npz"
    components = banded_components(config)
    if len(components) < 2:
        raise ConfigError(f"a banded model needs at least two feature spaces; the run has {[c[2] for c in components]}")
    saved = {name: load_arrays(run_dir / MODELS_DIR / f"{name}.npz") for _, _, name in components}
    settings = json.dumps({"banded": config.banded.model_dump(), "seed": config.seed,
                           "ridge": config.ridge.model_dump(exclude={"scheduler"}),
                           "components": {n: str(a["settings"]) for n, a in saved.items()}}, sort_keys=True)
    if path.exists() and not overwrite and load_if_settings_match(path, settings) is not None:
        log(f"{BANDED}: already fitted with these components, kept ({path})")
        return path
    cached = cached_model(model_cache, settings, BANDED)
    if not overwrite and reuse_model(path, cached, settings, BANDED, log):
        return path
    started = time.perf_counter()
    train, test = data.select(ds, "train"), data.select(ds, "test")
    y = data.repeat_average(train).values
    x_train, x_test = np.asarray(train["stimuli"].values), np.asarray(test["stimuli"].values)
    raw = {name: (cache.features(spec_extractor(spec, config.device), x_train, x_train)[layer],
                  cache.features(spec_extractor(spec, config.device), x_test, x_train)[layer]) for spec, layer, name in components}
    sizes = [saved[name]["coef"].shape[1] for _, _, name in components]
    names = np.array([n for _, _, n in components])
    ridge = config.ridge.model_dump()
    n_units, n_test = y.shape[1], len(x_test)
    arrays = {
        "prediction": np.full((n_test, n_units), np.nan, np.float32),
        "prediction_split": np.full((len(sizes), n_test, n_units), np.nan, np.float32),
        "band_weights": np.full((n_units, len(sizes)), np.nan, np.float32),
        "band_alphas": np.full((n_units, len(sizes)), np.nan, np.float32),
        "coef": np.full((n_units, sum(sizes)), np.nan, np.float32),
        "intercept": np.full(n_units, np.nan), "alpha": np.full(n_units, np.nan), "cv_score": np.full(n_units, np.nan),
    }
    # Units not recorded on every training stimulus: one fit per group sharing a pattern of recorded
    # stimuli, on those stimuli, each space divided by its model's scale for that group (one group otherwise).
    for rows, units in metrics.recorded_groups(y):
        if not all(np.isfinite(saved[n]["alpha"][units]).all() for n in names):
            continue  # left out of the components' fits (too few recorded stimuli)
        scale = [float(np.atleast_1d(np.asarray(saved[n]["feature_scale"], dtype=float))[units[0]]
                       if np.size(saved[n]["feature_scale"]) > 1 else saved[n]["feature_scale"]) for n in names]
        f_train = np.concatenate([raw[n][0][rows] / s for n, s in zip(names, scale)], axis=1)
        f_test = np.concatenate([raw[n][1] / s for n, s in zip(names, scale)], axis=1)
        model = BandedRidgeCV(bands=sizes, n_iter=config.banded.n_iter, concentration=config.banded.concentration,
                              random_state=config.seed, device=config.device, **ridge).fit(f_train, y[rows][:, units])
        arrays["prediction"][:, units] = model.predict(f_test)
        arrays["prediction_split"][:, :, units] = model.predict(f_test, split=True)
        arrays["band_weights"][units] = model.band_weights_
        arrays["band_alphas"][units] = model.band_alphas_
        arrays["coef"][units] = model.coef_ / np.repeat(scale, sizes)
        arrays["intercept"][units], arrays["alpha"][units], arrays["cv_score"][units] = (
            model.intercept_, model.alpha_, model.best_score_)
    arrays.update({"bands": names, "band_sizes": np.asarray(sizes), "stimulus": np.asarray(test["stimulus"].values),
                   "unit": np.asarray(ds["unit"].values), "settings": np.array(settings)})
    save_arrays(arrays, path)
    if cached is not None:
        copy_file(path, cached)
    fitted = np.isfinite(arrays["band_weights"]).all(axis=1)
    favourite = names[np.argmax(np.nan_to_num(arrays["band_weights"][fitted], nan=-1.0), axis=1)]
    counts = ", ".join(f"{n} {int((favourite == n).sum())}" for n in names)
    log(f"{BANDED}: {len(names)} feature spaces ({sum(sizes)} features), median CV {config.ridge.scoring} "
        f"{np.nanmedian(arrays['cv_score']):.3f}; units weighting each space most: {counts} "
        f"({time.perf_counter() - started:.1f} s)")
    return path
