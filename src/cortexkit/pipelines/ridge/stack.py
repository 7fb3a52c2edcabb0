"""The stacked model of a ridge run (:mod:`cortexkit.encoding.stacking`): per unit, convex weights
over the run's models fitted to their out-of-fold predictions on the training stimuli, so that
nothing about it is chosen on the test stimuli."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import xarray as xr

from cortexkit import data, metrics
from cortexkit._atomic import copy_file
from cortexkit.encoding.stacking import kfold_indices, ridge_oof_predictions, stack_weights, stacked_prediction
from cortexkit.errors import ConfigError, listed
from cortexkit.evaluation import MODELS_DIR, load_arrays, load_if_settings_match, save_arrays
from cortexkit.features.cache import FeatureCache
from cortexkit.pipelines.ridge.config import STACKED, EncodingConfig, FeatureSpec, model_names, spec_extractor
from cortexkit.pipelines.ridge.models import cached_model, reuse_model


def stack_components(config: EncodingConfig) -> list[tuple[FeatureSpec, str, str]]:
    """``(spec, layer, model name)`` of the models a stacked model combines, in config order."""
    every = [(spec, layer, name) for spec in config.features for layer, name in model_names(spec)]
    wanted = config.stack.models if config.stack is not None else []
    if not wanted:
        return every
    known = {name for _, _, name in every}
    unknown = [m for m in wanted if m not in known]
    if unknown:
        raise ConfigError(f"stack.models names {listed(unknown)}, which the run does not fit; models: {listed(sorted(known))}")
    return [c for c in every if c[2] in wanted]


def fit_stack(ds: xr.Dataset, run_dir: Path, config: EncodingConfig, cache: FeatureCache, overwrite: bool, log,
              model_cache=None) -> Path:
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
    cached = cached_model(model_cache, settings, STACKED)
    if not overwrite and reuse_model(path, cached, settings, STACKED, log):
        return path
    train = data.select(ds, "train")
    y = data.repeat_average(train).values
    x_train = np.asarray(train["stimuli"].values)
    started = time.perf_counter()
    features = {}
    for spec, layer, name in components:
        features[name] = cache.features(spec_extractor(spec, config.device), x_train, x_train)[layer]
        log(f"{STACKED}: out-of-fold predictions of {name}")
    # Units not recorded on every training stimulus are stacked per group sharing a pattern of
    # recorded stimuli, on those stimuli, with their components' own scale (one group otherwise).
    n_units = y.shape[1]
    weights = np.full((n_units, len(components)), np.nan)
    cv_score = np.full(n_units, np.nan)
    for rows, units in metrics.recorded_groups(y):
        if not np.isfinite(saved[components[0][2]]["alpha"][units]).all():
            continue  # left out of the components' fits (too few recorded stimuli)
        folds = kfold_indices(int(rows.sum()), config.stack.cv, config.seed)
        oof = []
        for _, _, name in components:
            scale = np.atleast_1d(np.asarray(saved[name]["feature_scale"], dtype=float))
            x = features[name][rows]
            if "columns" in saved[name]:  # a model on the blocks CV kept (the population embedding's sources)
                x = x[:, saved[name]["columns"]]
            oof.append(ridge_oof_predictions(x / float(scale[units[0]] if scale.size > 1 else scale[0]),
                                             y[rows][:, units], saved[name]["alpha"][units], folds))
        oof = np.stack(oof, axis=-1)
        weights[units] = stack_weights(oof, y[rows][:, units])
        cv_score[units] = metrics.pearson(y[rows][:, units], stacked_prediction(oof, weights[units]))
    arrays = {
        "prediction": stacked_prediction(np.stack([saved[n]["prediction"] for _, _, n in components], -1), weights).astype(np.float32),
        "stimulus": saved[components[0][2]]["stimulus"],
        "unit": saved[components[0][2]]["unit"],
        "weights": weights.astype(np.float32),
        "components": np.array([n for _, _, n in components]),
        "alpha": np.full(y.shape[1], np.nan),
        "cv_score": cv_score,
        "settings": np.array(settings),
    }
    save_arrays(arrays, path)
    if cached is not None:
        copy_file(path, cached)
    top = np.array([n for _, _, n in components])[np.argsort(-np.nanmean(weights, axis=0))[:3]]
    log(f"{STACKED}: {len(components)} models, out-of-fold median r {np.nanmedian(arrays['cv_score']):.3f}; "
        f"largest mean weights: {', '.join(top)} ({time.perf_counter() - started:.1f} s)")
    return path

