"""Fitting a ridge encoding run: store -> features of train and test stimuli (cached) ->
:class:`~cortexkit.encoding.RidgeCV` on the train split -> predictions for the test stimuli, one
``models/<name>.npz`` per model (a finished model is kept when the run is repeated, so an
interrupted run resumes; a model cache shared by several runs lends them models fitted alike).

Run directory (see :mod:`cortexkit.evaluation.runs`)::

    RUN/
      config.yaml        resolved config, data path, versions, seed
      models/NAME.npz    ridge weights, alphas, CV scores, test predictions (+ pixel RFs if linear)
"""

from __future__ import annotations

import json
import os
import time
import warnings
from pathlib import Path

import numpy as np
import xarray as xr

from cortexkit import data
from cortexkit._atomic import check_output, claimed_output, copy_file
from cortexkit.config import parse, provenance, require_device
from cortexkit.encoding.ridge.missing import fit_per_pattern
from cortexkit.encoding import RidgeCV
from cortexkit.encoding.ridge import ForwardBlocksRidgeCV
from cortexkit.errors import ConfigError, DataError
from cortexkit.evaluation import (MODELS_DIR, data_fingerprint, load_if_settings_match, read_run_record, run_kind,
                                  run_lock, save_arrays, write_run_record)
from cortexkit.features import FeatureExtractor, get_extractor
from cortexkit.features.base import is_video
from cortexkit.features.cache import FeatureCache
from cortexkit.pipelines.ridge.config import EncodingConfig, FeatureSpec, RidgeSpec, model_names, spec_extractor
from cortexkit.pipelines.ridge.models import cached_model, fit_code, reuse_model
from cortexkit.pipelines.ridge.banded import fit_banded
from cortexkit.pipelines.ridge.stack import fit_stack


def train_targets(train: xr.Dataset, allow_missing: bool = False) -> np.ndarray:
    """Repeat-averaged training responses (stimulus, unit); a DataError for time bins, and for
    missing values unless ``allow_missing`` (units not recorded on every stimulus, which the store
    must declare: ``attrs["missing_responses"]``)."""
    if "time" in train["responses"].dims:
        raise DataError(
            "has a 'time' dim; fixed-feature encoding of images needs one response per trial "
            "(sum or average the time bins of the response window first)",
            variable="responses",
        )
    y = data.repeat_average(train).values
    missing = ~np.isfinite(y)
    if missing.any() and not allow_missing:
        units = np.asarray(train["unit"].values)[missing.any(axis=0)]
        raise DataError(
            f"{len(units)} unit(s) have no valid response on some training stimuli (e.g. {units[:3].tolist()}); "
            "this step needs every unit recorded on every stimulus (`cortexkit fit` with feature spaces alone "
            "fits each unit on the stimuli it has)",
            variable="responses",
        )
    return y


def _ridge_arrays(a: np.ndarray, b: np.ndarray, y: np.ndarray, ridge: RidgeSpec, seed: int, device: str,
                  blocks: list[int] | None = None) -> dict:
    """Ridge from train features ``a`` to ``y`` (stimulus, unit), predicting test features ``b``; units
    not recorded on every training stimulus are fitted per pattern of recorded stimuli
    (:mod:`cortexkit.encoding.ridge.missing`), each group with the feature scale of its own rows, so
    that a unit's fit is the fit of its session alone. Left-out units get NaN and their reason. With
    ``blocks`` (column block sizes: the population embedding's sources), the blocks are chosen by
    cross-validation (:class:`~cortexkit.encoding.ridge.ForwardBlocksRidgeCV`) and ``columns`` says which."""

    def fit(rows: np.ndarray, units: np.ndarray) -> dict:
        scale = float(np.sqrt(np.mean(a[rows].var(axis=0)))) or 1.0
        if blocks:
            settings = ridge.model_dump(include={"alphas", "cv", "scoring", "fit_intercept", "dtype"})
            model = ForwardBlocksRidgeCV(blocks=blocks, random_state=seed, device=device, **settings)
        else:
            model = RidgeCV(random_state=seed, device=device, **ridge.model_dump())
        model.fit(a[rows] / scale, y[rows][:, units])
        out = {"coef": model.coef_ / scale, "intercept": model.intercept_, "alpha": model.alpha_,
               "cv_score": model.best_score_, "cv_scores": model.cv_scores_, "alphas": model.alphas_,
               "prediction": model.predict(b / scale), "feature_scale": scale}
        if blocks:
            out |= {"columns": model.columns_, "block_scores": model.block_scores_,
                    "prefix_scores": model.prefix_scores_, "blocks_kept": model.blocks_}
        return out

    if np.isfinite(y).all():
        out = fit(np.ones(len(y), bool), np.arange(y.shape[1]))
        out["feature_scale"] = np.float64(out["feature_scale"])
        return out
    if blocks:
        raise DataError("units not recorded on every training stimulus: the population embedding's choice of sources "
                        "needs one pattern of recorded stimuli (fit each session's store on its own)", variable="responses")
    folds = ridge.cv if isinstance(ridge.cv, int) else 2
    fitted, left_out = fit_per_pattern(fit, y, max(int(folds), 2))
    n_units = y.shape[1]
    alphas = np.asarray(ridge.alphas, dtype=np.float64)
    out = {"coef": np.full((n_units, a.shape[1]), np.nan), "intercept": np.full(n_units, np.nan),
           "alpha": np.full(n_units, np.nan), "cv_score": np.full(n_units, np.nan),
           "cv_scores": np.full((len(alphas), n_units), np.nan), "alphas": alphas,
           "prediction": np.full((len(b), n_units), np.nan), "feature_scale": np.full(n_units, np.nan)}
    for _, units, res in fitted:
        out["coef"][units] = res["coef"]
        out["prediction"][:, units] = res["prediction"]
        out["cv_scores"][:, units] = res["cv_scores"]
        out["alphas"] = res["alphas"]
        for key in ("intercept", "alpha", "cv_score", "feature_scale"):
            out[key][units] = res[key]
    out["left_out"] = np.array([left_out.get(u, "") for u in range(n_units)])
    return out


def fit_feature_space(
    ds: xr.Dataset, spec: FeatureSpec, ridge: RidgeSpec, seed: int = 0, cache: FeatureCache | None = None,
    skip: set[str] | frozenset = frozenset(), log=None, device: str = "cpu",
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
    y_train = train_targets(train, allow_missing=True)
    extractor = spec_extractor(spec, device)
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
    # blocks of columns chosen by CV (the population embedding's source recordings)
    blocks = [size for _, size in extractor.blocks()] if hasattr(extractor, "blocks") else None
    for layer, name in model_names(spec):
        if name in skip:
            continue
        fitted = _ridge_arrays(f_train[layer], f_test[layer], y_train, ridge, seed, device, blocks)
        arrays = {
            "coef": fitted["coef"].astype(np.float32),
            "intercept": fitted["intercept"],
            "alpha": fitted["alpha"],
            "cv_score": fitted["cv_score"],
            "cv_scores": fitted["cv_scores"],
            "alphas": fitted["alphas"],
            "prediction": fitted["prediction"].astype(np.float32),
            "stimulus": np.asarray(test["stimulus"].values),
            "unit": np.asarray(ds["unit"].values),
            "feature_scale": fitted["feature_scale"],
            "layer": np.array(layer),
        }
        if "left_out" in fitted:
            arrays["left_out"] = fitted["left_out"]
        if blocks:
            arrays |= {k: fitted[k] for k in ("columns", "block_scores", "prefix_scores", "blocks_kept")}
            arrays["block_names"] = np.array([label for label, _ in extractor.blocks()])
            kept = ", ".join(arrays["block_names"][fitted["blocks_kept"]])
            if log is not None:
                log(f"{name}: {len(fitted['blocks_kept'])} of {len(blocks)} sources kept by CV ({kept})")
        if linear:
            arrays["receptive_field"] = extractor.receptive_fields(np.nan_to_num(arrays["coef"])).astype(np.float32)
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
    model_cache: str | os.PathLike | None = None,
    allow_overlap: bool = False,
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
    model_cache : path, optional
        A folder of fitted models shared by several runs (the benchmark runner's): a model fitted
        with the same data and settings by any of them is copied from there instead of refitted.
    allow_overlap : bool
        Fit even when held-out stimuli are copies of training stimuli
        (:func:`cortexkit.data.split_overlap`); refused by default, unless the store says its
        conversion was asked to keep them.
    log : callable
        Receives one line per step.
    """
    config = config or EncodingConfig()
    run_dir = Path(run_dir)
    for spec in config.features:  # unknown names and bad parameters fail before any work
        get_extractor(spec.name, spec.params)
    require_device(config.device, "device")
    check_output(run_dir)
    # NaN only where the store declares why; time-resolved responses: one target per unit and time bin
    ds = data.time_bins_as_units(data.load(data_path, check_values=True, allow_nan_responses=False))
    data.require_recorded(ds, str(data_path))
    check_split(ds, data_path, allow_overlap, log)
    with claimed_output(run_dir), run_lock(run_dir):
        config = _accumulated(run_dir, data_path, config, overwrite, log)
        # the store's content fingerprint: evaluate refuses to score these models against a changed store
        record = {"data": str(Path(data_path).resolve()), "data_fingerprint": data_fingerprint(ds),
                  "encoding": config.model_dump(), **(extra or {})}
        record["provenance"] = provenance(config.seed)
        write_run_record(run_dir, record)
        return _fit_models(ds, run_dir, config, overwrite, log, model_cache)


def check_split(ds: xr.Dataset, data_path, allow_overlap: bool = False, log=print) -> None:
    """A DataError when held-out stimuli of ``ds`` are copies of training stimuli, unless allowed
    (here, or recorded in the store by a conversion that was asked to keep them)."""
    pairs = data.split_overlap(ds)
    if not len(pairs):
        return
    allowed = allow_overlap or json.loads(ds.attrs.get("split_overlap", "{}")).get("allowed", False)
    if not allowed:
        raise DataError(f"{data.describe_overlap(pairs)}; fit with --allow-overlap to score them anyway",
                        source=str(data_path), variable="split")
    log(f"warning: {data.describe_overlap(pairs)} (kept as asked)")


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


def _fit_models(ds: xr.Dataset, run_dir: Path, config: EncodingConfig, overwrite: bool, log, model_cache=None) -> list[Path]:
    """Fit (or keep) every model of ``config``; the part of :func:`fit_run` done under the run lock."""
    fingerprint = data_fingerprint(ds)
    _report_constant_units(ds, log)
    cache = FeatureCache()
    paths = []
    for spec in config.features:
        # A model is reused only if it was fitted with the same data, settings and code.
        settings = json.dumps(
            # where the fit runs (scheduler) does not change its result
            {"data": fingerprint, "features": spec.model_dump(),
             "ridge": {**config.ridge.model_dump(exclude={"scheduler"}), "device": config.device},
             "seed": config.seed, "code": fit_code(spec)},
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
                    continue
                log(f"{name}: data or settings changed since the last fit, refitting")
            if not overwrite and reuse_model(path, cached_model(model_cache, settings, name), settings, name, log):
                done.add(name)
        if len(done) == len(names):
            continue
        for name, arrays in fit_feature_space(ds, spec, config.ridge, config.seed, cache, skip=done, log=log,
                                               device=config.device).items():
            arrays["settings"] = np.array(settings)
            save_arrays(arrays, run_dir / MODELS_DIR / f"{name}.npz")
            if model_cache is not None:
                copy_file(run_dir / MODELS_DIR / f"{name}.npz", cached_model(model_cache, settings, name))
            cv = np.asarray(arrays["cv_score"], dtype=float)
            log(f"{name}: {arrays['coef'].shape[1]} features, median CV {config.ridge.scoring} "
                f"{np.nanmedian(cv) if np.isfinite(cv).any() else float('nan'):.3f}")
    if config.stack is not None:
        paths.append(fit_stack(ds, run_dir, config, cache, overwrite, log, model_cache))
    if config.banded is not None:
        paths.append(fit_banded(ds, run_dir, config, cache, overwrite, log, model_cache))
    return paths


def _report_constant_units(ds: xr.Dataset, log) -> None:
    """Name the units whose training responses are constant: no model can predict them, their scores
    are NaN, and medians leave them out (the summary's n_scored says how many remain)."""
    y = train_targets(data.select(ds, "train"), allow_missing=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a unit recorded on no training stimulus
        spread = np.nanstd(y, axis=0)
    constant = np.asarray(ds["unit"].values)[np.isfinite(spread) & ~(spread > 0)]
    if len(constant):
        log(f"{len(constant)} unit(s) have constant responses on the training stimuli and are not scored: "
            f"{', '.join(map(str, constant[:10]))}{' ...' if len(constant) > 10 else ''}")

