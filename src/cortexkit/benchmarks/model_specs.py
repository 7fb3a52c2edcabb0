"""Named models of the leaderboard: each is one YAML file, a configuration of one of cortexkit's
pipelines that runs on every benchmark of its task and stimulus kind.

A model file holds::

    description: one line for the model page
    task: encoding | decoding | reconstruction
    stimulus: [image, movie]          # the kinds it runs on
    kind: ridge | trained | reconstruction | parameter_decoding
    config: {...}                      # the pipeline's config (see below)
    output: alexnet.conv3              # ridge: which fitted model it is (default: the only one / stacked)
    benchmarks: [sim-v1]               # optional: run by default only on these (CPU cost)

``config`` is an :class:`~cortexkit.pipelines.ridge_encoding.EncodingConfig` (ridge, stacked), a
:class:`~cortexkit.encoding.predictor_run.PredictorConfig` without ``data`` (trained: one core over
all recordings of the benchmark, a readout per recording), ``{decoder: DecoderSpec, image_size}``
(reconstruction) or ``{method, C, n_permutations}`` (parameter decoding; label shuffles of the p-value,
default 200). The built-in models are the files in this
package's ``models/`` folder; ``--models path/to/model.yaml`` runs a model of the user's own.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from cortexkit.config import load_yaml, parse
from cortexkit.decoding.stimulus_parameters import METHODS
from cortexkit.encoding.predictor_run import PredictorConfig
from cortexkit.errors import ConfigError
from cortexkit.pipelines.reconstruction import DecoderSpec
from cortexkit.pipelines.ridge_encoding import STACKED, EncodingConfig, model_names

MODELS_FOLDER = Path(__file__).parent / "models"


class ModelSpec(BaseModel):
    """A named model: a pipeline configuration and where it applies."""

    model_config = ConfigDict(extra="forbid")

    name: str
    description: str
    task: Literal["encoding", "decoding", "reconstruction"]
    stimulus: list[Literal["image", "movie"]]
    kind: Literal["ridge", "trained", "reconstruction", "parameter_decoding"]
    config: dict[str, Any] = Field(default_factory=dict)
    output: str | None = None
    benchmarks: list[str] | None = None
    source: str = ""  # the file it was read from

    @model_validator(mode="after")
    def _consistent(self):
        expected = {"ridge": "encoding", "trained": "encoding", "reconstruction": "reconstruction",
                    "parameter_decoding": "decoding"}[self.kind]
        if self.task != expected:
            raise ValueError(f"a {self.kind} model has task {expected}, not {self.task}")
        if self.kind == "ridge":
            config = self.encoding()
            names = [n for spec in config.features for _, n in model_names(spec)] + ([STACKED] if config.stack else [])
            output = self.output or (STACKED if config.stack else names[0] if len(names) == 1 else None)
            if output not in names:
                raise ValueError(f"output must name one of the fitted models {names}, got {self.output!r}")
            self.output = output
        elif self.kind == "trained":
            if "data" in self.config:
                raise ValueError("config must not name data: the benchmark's recordings are the data")
            self.training([{"path": "x.zarr", "key": "x"}])
        elif self.kind == "reconstruction":
            DecoderSpec.model_validate(self.config.get("decoder", {}))
            if set(self.config) - {"decoder", "image_size"}:
                raise ValueError(f"config takes decoder and image_size, got {sorted(self.config)}")
        elif self.config.get("method", "logistic") not in METHODS or set(self.config) - {"method", "C", "n_permutations"}:
            raise ValueError(f"config takes method (one of {list(METHODS)}), C and n_permutations, got {self.config}")
        return self

    def encoding(self) -> EncodingConfig:
        """The ridge encoding config (ridge and stacked models)."""
        return EncodingConfig.model_validate(self.config)

    def training(self, data: list[dict]) -> PredictorConfig:
        """The trained predictor's config with ``data`` (one store per recording)."""
        return PredictorConfig.model_validate({**self.config, "data": data})

    def runs_on(self, bench) -> bool:
        """Whether the model applies to benchmark ``bench`` (task and stimulus kind)."""
        return self.task == bench.task and bench.stimulus in self.stimulus

    def runs_by_default_on(self, bench) -> bool:
        """Whether a leaderboard run that names no models puts the model on ``bench`` (compatible,
        and listed in ``benchmarks`` where the file restricts it)."""
        return self.runs_on(bench) and (self.benchmarks is None or bench.name in self.benchmarks)

    def definition(self) -> dict:
        """What the model's numbers depend on (its fingerprint in the leaderboard)."""
        return self.model_dump(include={"name", "task", "kind", "config", "output"})


def read_model(path: str | os.PathLike) -> ModelSpec:
    """The model in a YAML file (its name is the file's stem)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such model file")
    raw = load_yaml(path)
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: a model file holds a mapping (description, task, stimulus, kind, config)")
    return parse(ModelSpec, {"name": path.stem, **raw, "source": str(path)}, str(path))


def builtin_models() -> dict[str, ModelSpec]:
    """The models shipped with cortexkit, by name, in file-name order."""
    return {p.stem: read_model(p) for p in sorted(MODELS_FOLDER.glob("*.yaml"))}


def get_model(name: str) -> ModelSpec:
    """A built-in model by name, or a model file by path (``.yaml``)."""
    if name.endswith((".yaml", ".yml")) or os.sep in name:
        return read_model(name)
    models = builtin_models()
    if name not in models:
        raise ConfigError(f"unknown model {name!r}; available: {sorted(models)} (or a path to a model .yaml)")
    return models[name]
