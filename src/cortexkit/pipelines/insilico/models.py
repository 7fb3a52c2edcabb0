"""A fitted run (ridge, stacked or trained core) as a :class:`cortexkit.insilico.ResponseModel`: what
every in-silico experiment runs on."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import xarray as xr

from cortexkit import data
from cortexkit.errors import ConfigError, DataError, listed
from cortexkit.evaluation import MODELS_DIR, data_fingerprint, load_arrays, read_run_record, run_kind, split_run_model
from cortexkit.features.registry import get_extractor
from cortexkit.insilico import (
    PredictorResponseModel,
    ResponseModel,
    RidgeResponseModel,
    StackedResponseModel,
)
from cortexkit.pipelines.ridge import STACKED, model_names, read_encoding_run, stack_components


def response_model(run_dir: str | os.PathLike, model: str | None = None, device: str = "cpu") -> ResponseModel:
    """A fitted model as a :class:`cortexkit.insilico.ResponseModel`.

    ``run_dir`` is a ridge run (``cortexkit fit``; ``model`` names one of its models, ``stacked``
    included; default its only one), with its feature spaces refitted on the run's training stimuli
    exactly as the fit did, or a trained run (``cortexkit train``; ``model`` names a session, default
    its only one). ``device`` runs the networks (feature spaces, trained cores) there; pixels, ridge
    weights and results stay on the CPU.
    """
    return load_model(run_dir, model, device)[0]


def load_model(run_dir, model: str | None, device: str = "cpu") -> tuple[ResponseModel, xr.Dataset]:
    """The response model and the dataset it was fitted on."""
    from cortexkit.config import require_device

    require_device(device, "--device")
    run_dir = Path(run_dir)
    kind = run_kind(run_dir)
    if kind == "training":
        return _trained_model(run_dir, model, device)
    if kind != "encoding":
        raise ConfigError(f"{run_dir} is not a fitted run (cortexkit fit or cortexkit train wrote none there)")
    entries = _entries(read_encoding_run(run_dir)[1])
    if model is None:
        if len(entries) != 1:
            raise ConfigError(f"{run_dir} holds models {listed(sorted(entries))}; name one with --model")
        model = next(iter(entries))
    models, ds = _ridge_models(run_dir, [model], device)
    return models[0], ds


def _ridge_models(run_dir: Path, names: list[str], device: str = "cpu") -> tuple[list[ResponseModel], xr.Dataset]:
    """Models ``names`` of a ridge run (``stacked`` included), sharing one fitted feature space per
    spec, and the run's dataset."""
    raw, config = read_encoding_run(run_dir)
    entries = _entries(config)
    unknown = [n for n in names if n not in entries]
    if unknown:
        raise ConfigError(f"{run_dir} has no model {unknown[0]!r}; it has {listed(sorted(entries))}")
    ds = data.open(raw["data"])
    stimuli = np.asarray(data.select(ds, "train")["stimuli"].values, dtype=np.float32)
    video = data.stimulus_kind(ds) == "video"
    components = stack_components(config) if STACKED in names else []
    needed: dict[str, list[str]] = {}
    for spec, layer, _ in components + [(*entries[n], n) for n in names if n != STACKED]:
        needed.setdefault(spec.model_name, []).append(layer)
    extractors = {}

    def ridge(spec, layer, name):
        if spec.model_name not in extractors:
            extractors[spec.model_name] = _extractor(spec, needed[spec.model_name], stimuli, device)
        arrays = load_arrays(run_dir / MODELS_DIR / f"{name}.npz")
        return RidgeResponseModel(extractors[spec.model_name], layer, arrays["coef"], arrays["intercept"],
                                  arrays["unit"], stimuli.shape[1:], name=name, video=video)

    models = []
    for name in names:
        if name != STACKED:
            models.append(ridge(*entries[name], name))
            continue
        arrays = load_arrays(run_dir / MODELS_DIR / f"{STACKED}.npz")
        members = [ridge(spec, layer, n) for spec, layer, n in components]
        if [m.name for m in members] != list(arrays["components"].astype(str)):
            raise DataError("the stacked model's components differ from the config's; refit the run",
                            source=str(run_dir / MODELS_DIR / f"{STACKED}.npz"))
        models.append(StackedResponseModel(members, arrays["weights"]))
    for m in models:  # which recording the model answers for (compared models must share it), and its run
        m.recording = str(raw.get("data_fingerprint") or Path(raw["data"]).resolve())
        m.run = Path(run_dir).name
    return models, ds


def _extractor(spec, layers: list[str], stimuli: np.ndarray, device: str = "cpu"):
    """The feature space of ``spec`` fitted on the training stimuli; a CNN computes only ``layers``
    (its forward pass stops after the deepest), unless a random projection ties each layer's
    features to its position in the list."""
    from cortexkit.features.torch_layers import TorchExtractor

    params = dict(spec.params)
    if "device" in get_extractor(spec.name, params).get_params(deep=False):
        params["device"] = device  # the network runs there; its features come back to the readout's device
    extractor = get_extractor(spec.name, params)
    if isinstance(extractor, TorchExtractor) and extractor.projection is None:
        order = extractor.layer_list()
        extractor = get_extractor(spec.name, {**params, "layers": [x for x in order if x in set(layers)]})
    return extractor.fit(stimuli)


def _entries(config) -> dict:
    """``{model name: (feature spec, layer)}`` of a ridge run's config, the stacked model last."""
    entries = {name: (spec, layer) for spec in config.features for layer, name in model_names(spec)}
    if config.stack is not None:
        entries[STACKED] = (None, None)
    return entries


def ensemble(specs, device: str = "cpu") -> list[ResponseModel]:
    """Response models from ``RUN`` or ``RUN:MODEL`` strings: a bare ridge run stands for every model
    it holds (the stacked one left out: it is a mixture of the others)."""
    models = []
    for spec in specs:
        run, name = split_run_model(str(spec))
        if name is None and run_kind(run) == "encoding":
            names = [n for n in _entries(read_encoding_run(run)[1]) if n != STACKED]
            models += _ridge_models(Path(run), names, device)[0]
        else:
            models.append(load_model(run, name, device)[0])
    return models


def _trained_model(run_dir: Path, key: str | None, device: str = "cpu") -> tuple[ResponseModel, xr.Dataset]:
    from cortexkit.pipelines.predictor import load_trained

    run = load_trained(run_dir)
    if key is None:
        if len(run.sessions) != 1:
            raise ConfigError(f"{run_dir} is trained on sessions {listed(sorted(run.sessions))}; name one with --model")
        key = next(iter(run.sessions))
    if key not in run.sessions:
        raise ConfigError(f"{run_dir} has no session {key!r}; it has {listed(sorted(run.sessions))}")
    sess = run.sessions[key]
    ds = sess.dataset
    n_behaviors = sess.behavior.shape[-1] if sess.behavior is not None else 0
    net = PredictorResponseModel(run.model.to(device), key, run.config, ds["unit"].values, ds["stimuli"].shape[1:],
                                 video=data.stimulus_kind(ds) == "video", time_resolved=sess.time_resolved,
                                 n_behaviors=n_behaviors)
    record = read_run_record(run_dir) if (run_dir / "config.yaml").is_file() else {}
    net.recording = str(record.get("data_fingerprints", {}).get(key) or data_fingerprint(ds))
    net.run = Path(run_dir).name
    return net, ds


def check_comparable(models: list[ResponseModel], what: str) -> None:
    """A ConfigError unless every model answers for the same units of the same recording: in-silico
    comparisons and designs read their outputs unit by unit."""
    def name(m):
        return f"{m.describe()} in {m.run}" if getattr(m, "run", None) else m.describe()

    first = models[0]
    for other in models[1:]:
        if getattr(other, "recording", None) != getattr(first, "recording", None):
            raise ConfigError(f"{what}: {name(other)} was fitted on another recording than {name(first)}; "
                              "models are compared unit by unit, so they must be fitted on the same store")
        if list(other.units) != list(first.units):
            extra = sorted(set(other.units) ^ set(first.units))[:5]
            raise ConfigError(f"{what}: {name(other)} and {name(first)} predict different units"
                              + (f" (e.g. {', '.join(extra)})" if extra else " (in another order)"))
