"""In-silico experiments on a fitted ridge run: the run's model as a differentiable
:class:`cortexkit.insilico.ResponseModel`, its most exciting inputs and its grating tuning."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from cortexkit import data
from cortexkit.errors import ConfigError
from cortexkit.evaluation import MODELS_DIR, load_arrays
from cortexkit.features.registry import get_extractor
from cortexkit.insilico import ResponseModel
from cortexkit.pipelines.ridge_encoding import model_names, read_encoding_run


def response_model(run_dir: str | os.PathLike, model: str | None = None) -> ResponseModel:
    """The model ``model`` (default: the run's only one) of a ridge run written by ``cortexkit fit``,
    with its feature space refitted on the run's training stimuli exactly as the fit did."""
    run_dir = Path(run_dir)
    raw, config = read_encoding_run(run_dir)
    entries = {name: (spec, layer) for spec in config.features for layer, name in model_names(spec)}
    if model is None:
        if len(entries) != 1:
            raise ConfigError(f"{run_dir} holds models {sorted(entries)}; name one")
        model = next(iter(entries))
    if model not in entries:
        raise ConfigError(f"{run_dir} has no model {model!r}; it has {sorted(entries)}")
    spec, layer = entries[model]
    arrays = load_arrays(run_dir / MODELS_DIR / f"{model}.npz")
    train = data.select(data.open(raw["data"]), "train")
    stimuli = np.asarray(train["stimuli"].values, dtype=np.float32)
    extractor = get_extractor(spec.name, spec.params).fit(stimuli)
    return ResponseModel(extractor, layer, arrays["coef"], arrays["intercept"], arrays["unit"], stimuli.shape[1:])
