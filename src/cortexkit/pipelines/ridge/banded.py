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

from cortexkit import data
from cortexkit._atomic import copy_file
from cortexkit.encoding import BandedRidgeCV
from cortexkit.errors import ConfigError
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
        raise ConfigError(f"banded.models names {unknown}, which the run does not fit; models: {sorted(known)}")
    if len(set(wanted)) != len(wanted):
        raise ConfigError(f"banded.models lists a model twice: {wanted}")
    return [c for c in every if c[2] in wanted]


def joined_features(components, saved: dict, cache: FeatureCache, stimuli: np.ndarray, train: np.ndarray,
                    device: str) -> np.ndarray:
    """The components' features of ``stimuli`` side by side, each divided by its model's feature scale
    (the root mean feature variance on the train stimuli), so every space starts on one footing."""
    return np.concatenate([cache.features(spec_extractor(spec, device), stimuli, train)[layer]
                           / float(saved[name]["feature_scale"]) for spec, layer, name in components], axis=1)


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
    from cortexkit.pipelines.ridge.fit import train_targets  # here: fit.py imports this module

    y = train_targets(train)  # every unit recorded on every stimulus: one joint fit (a clear error otherwise)
    x_train = np.asarray(train["stimuli"].values)
    f_train = joined_features(components, saved, cache, x_train, x_train, config.device)
    f_test = joined_features(components, saved, cache, np.asarray(test["stimuli"].values), x_train, config.device)
    sizes = [saved[name]["coef"].shape[1] for _, _, name in components]
    ridge = config.ridge.model_dump()
    model = BandedRidgeCV(bands=sizes, n_iter=config.banded.n_iter, concentration=config.banded.concentration,
                          random_state=config.seed, device=config.device, **ridge).fit(f_train, y)
    scales = np.repeat([float(saved[n]["feature_scale"]) for _, _, n in components], sizes)
    names = np.array([n for _, _, n in components])
    arrays = {
        "prediction": model.predict(f_test).astype(np.float32),
        "prediction_split": model.predict(f_test, split=True).astype(np.float32),
        "bands": names,
        "band_sizes": np.asarray(sizes),
        "band_weights": model.band_weights_.astype(np.float32),
        "band_alphas": model.band_alphas_.astype(np.float32),
        "coef": (model.coef_ / scales).astype(np.float32),
        "intercept": model.intercept_,
        "alpha": model.alpha_,
        "cv_score": model.best_score_,
        "stimulus": np.asarray(test["stimulus"].values),
        "unit": np.asarray(ds["unit"].values),
        "settings": np.array(settings),
    }
    save_arrays(arrays, path)
    if cached is not None:
        copy_file(path, cached)
    favourite = names[np.argmax(model.band_weights_, axis=1)]
    counts = ", ".join(f"{n} {int((favourite == n).sum())}" for n in names)
    log(f"{BANDED}: {len(names)} feature spaces ({sum(sizes)} features), median CV {config.ridge.scoring} "
        f"{np.nanmedian(model.best_score_):.3f}; units weighting each space most: {counts} "
        f"({time.perf_counter() - started:.1f} s)")
    return path
