"""Named models: each is one YAML file, a configuration of one of cortexkit's pipelines.

A model file holds::

    description: one line for the model page
    task: encoding | decoding | reconstruction
    stimulus: [image, movie]          # the kinds it runs on
    kind: ridge | trained | published | reconstruction | parameter_decoding
    members: [alexnet, gabor-energy]  # ridge: other models whose feature spaces it fits too
    config: {...}                     # the pipeline's config (see below)
    output: alexnet.conv3             # ridge: which fitted model it is

``config`` is an :class:`~cortexkit.pipelines.EncodingConfig` (ridge; with ``stack:`` a stacked
model, whose components are usually its ``members``' models), a
:class:`~cortexkit.pipelines.PredictorConfig` without ``data`` (trained: one core over all
recordings of the benchmark, a readout per recording), ``{checkpoint: PATH, format: stsbench | viv1t,
skip_frames}`` (published: a released checkpoint made into a run on each recording, as ``cortexkit
train --from-checkpoint`` does; a relative path is read from the model file's folder, and the
checkpoint's content is part of the cell's fingerprint), ``{decoder: DecoderSpec, image_size}``
(reconstruction) or ``{method, C, n_permutations}`` (parameter decoding; label shuffles of the
p-value, default 200).

A ridge model reports ``output``; without it, the only model it fits, its stacked model, or, for
one multi-layer feature space, every layer (its headline score is then each recording's best
layer by median test r). The built-in models are the files in this package's ``models/`` folder;
a path to a ``.yaml`` file is a model of the user's own, the same thing.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from cortexkit.config import load_yaml, parse
from cortexkit.errors import ConfigError, listed
from cortexkit.pipelines import DECODING_METHODS, STACKED, DecoderSpec, EncodingConfig, PredictorConfig, model_names

MODELS_FOLDER = Path(__file__).parent / "models"
KINDS = {"ridge": "encoding", "trained": "encoding", "published": "encoding", "reconstruction": "reconstruction",
         "parameter_decoding": "decoding"}


class ModelSpec(BaseModel):
    """A named model: a pipeline configuration and where it applies."""

    model_config = ConfigDict(extra="forbid")

    name: str
    description: str
    task: Literal["encoding", "decoding", "reconstruction"]
    stimulus: list[Literal["image", "movie"]]
    kind: Literal["ridge", "trained", "published", "reconstruction", "parameter_decoding"]
    members: list[str] = Field(default_factory=list)
    config: dict[str, Any] = Field(default_factory=dict)
    output: str | None = None
    source: str = ""  # the file it was read from

    @model_validator(mode="after")
    def _consistent(self):
        if self.task != KINDS[self.kind]:
            raise ValueError(f"a {self.kind} model has task {KINDS[self.kind]}, not {self.task}")
        if self.members and self.kind != "ridge":
            raise ValueError("members are for ridge models (their feature spaces are fitted too)")
        if self.kind == "ridge":
            self.output = self._output(self.encoding())
        elif self.kind == "trained":
            if "data" in self.config:
                raise ValueError("config must not name data: the benchmark's recordings are the data")
            self.training([{"path": "x.zarr", "key": "x"}])
        elif self.kind == "published":
            from cortexkit.pipelines.published import CHECKPOINT_FORMATS

            if set(self.config) - {"checkpoint", "format", "skip_frames"} or "checkpoint" not in self.config:
                raise ValueError(f"config takes checkpoint, format and skip_frames, got {listed(sorted(self.config))}")
            if self.config.get("format") not in CHECKPOINT_FORMATS:
                raise ValueError(f"format must be one of {listed(CHECKPOINT_FORMATS)}, got {self.config.get('format')!r}")
        elif self.kind == "reconstruction":
            DecoderSpec.model_validate(self.config.get("decoder", {}))
            if set(self.config) - {"decoder", "image_size"}:
                raise ValueError(f"config takes decoder and image_size, got {listed(sorted(self.config))}")
        elif self.config.get("method", "logistic") not in DECODING_METHODS or \
                set(self.config) - {"method", "C", "n_permutations"}:
            raise ValueError(f"config takes method (one of {listed(DECODING_METHODS)}), C and n_permutations, "
                             f"got {self.config}")
        return self

    def _output(self, config: EncodingConfig) -> str | None:
        names = [n for spec in config.features for _, n in model_names(spec)] + ([STACKED] if config.stack else [])
        if self.output is not None:
            if self.output not in names:
                raise ValueError(f"output must name one of the fitted models {names}, got {self.output!r}")
            return self.output
        if config.stack is not None:
            return STACKED
        if len(names) == 1 or len(config.features) == 1:
            return None if len(names) > 1 else names[0]  # one feature space: its model, or every layer
        raise ValueError(f"output must name one of the fitted models {names} (the model fits several feature spaces)")

    def encoding(self) -> EncodingConfig:
        """The ridge encoding config: the members' feature spaces, then the model's own."""
        features = [spec for member in self.members for spec in _member(member, self.source).encoding().features]
        own = dict(self.config)
        if features:
            own["features"] = features + list(own.get("features", []))
        return EncodingConfig.model_validate(own)

    def outputs(self) -> list[str]:
        """The fitted models a ridge model reports: its output, or every layer of its feature space."""
        return [self.output] if self.output else [name for _, name in model_names(self.encoding().features[0])]

    @property
    def label(self) -> str:
        """How tables name the model: for ridge on one feature space, that space (or the one layer
        the model reports: ``alexnet.conv3``); else the model's name."""
        if self.kind == "ridge":
            config = self.encoding()
            if len(config.features) == 1 and config.stack is None:
                return self.output or config.features[0].model_name
        return self.name

    def training(self, data: list[dict]) -> PredictorConfig:
        """The trained predictor's config with ``data`` (one store per recording)."""
        return PredictorConfig.model_validate({**self.config, "data": data})

    def checkpoint(self, data_root: str | os.PathLike | None = None) -> Path:
        """A published model's checkpoint (file or folder): ``{data_root}/...`` under the benchmarks' data
        root (published models shipped beside a dataset), a relative path from the model file's folder."""
        text = str(self.config["checkpoint"])
        if text.startswith("{data_root}"):
            if data_root is None:
                raise ConfigError(f"model {self.name!r}: its checkpoint lies under the data root (--data-root)")
            return Path(data_root) / text.removeprefix("{data_root}").lstrip("/")
        path = Path(text).expanduser()
        return path if path.is_absolute() or not self.source else Path(self.source).parent / path

    def runs_on(self, bench) -> bool:
        """Whether the model applies to benchmark ``bench`` (task and stimulus kind)."""
        return self.task == bench.task and bench.stimulus in self.stimulus

    def definition(self, data_root: str | os.PathLike | None = None) -> dict:
        """What the model's numbers depend on (part of every cell's fingerprint): for ridge models the
        resolved config, so that a change in a member changes the model; for published ones the
        checkpoint's content."""
        config = self.encoding().model_dump() if self.kind == "ridge" else dict(self.config)
        if self.kind == "published":  # the weights, not where they lie: a replaced checkpoint reruns the cells
            config["checkpoint"] = _content_hash(self.checkpoint(data_root))
        return {"name": self.name, "task": self.task, "kind": self.kind, "config": config, "output": self.output}


def _content_hash(path: Path) -> str:
    """SHA-256 of a checkpoint file's bytes, or over every file of a checkpoint folder (its path in the folder, then its bytes)."""
    import hashlib

    if not path.exists():
        raise ConfigError(f"{path}: missing (the published model's checkpoint)")
    digest = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for f in files:
        if f != path:
            digest.update(str(f.relative_to(path)).encode())
        with f.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


_resolving: set[str] = set()  # member files being read: a model that is its own member is an error


def _member(name: str, source: str) -> ModelSpec:
    path = Path(name) if name.endswith((".yaml", ".yml")) else MODELS_FOLDER / f"{name}.yaml"
    if not path.is_absolute() and source and name.endswith((".yaml", ".yml")):
        path = Path(source).parent / path
    key = str(path.resolve())
    if key in _resolving:
        raise ValueError(f"member {name!r} is (through its members) the model itself")
    if not path.is_file():
        raise ValueError(f"member {name!r}: no model file {path}")
    _resolving.add(key)
    try:
        return read_model(path)
    except ConfigError as exc:
        raise ValueError(f"member {name!r}: {exc}") from None
    finally:
        _resolving.discard(key)


def read_model(path: str | os.PathLike) -> ModelSpec:
    """The model in a YAML file (its name is the file's stem)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such model file")
    raw = load_yaml(path)
    return parse(ModelSpec, {"name": path.stem, **raw, "source": str(path)}, str(path))


def builtin_models() -> dict[str, ModelSpec]:
    """The models shipped with cortexkit, by name, in file-name order."""
    return {p.stem: read_model(p) for p in sorted(MODELS_FOLDER.glob("*.yaml"))}


def get_model(name: str) -> ModelSpec:
    """A built-in model by name, or a model file by path (``.yaml``)."""
    if name.endswith((".yaml", ".yml")) or os.sep in name:
        return read_model(name)
    path = MODELS_FOLDER / f"{name}.yaml"
    if not path.is_file():
        raise ConfigError(f"unknown model {name!r}; available: {listed(sorted(builtin_models()))} (or a path to a model .yaml)")
    return read_model(path)
