"""The configuration of a ridge encoding run: feature spaces, ridge settings, an optional stacked
model, where it runs; and the feature spaces named on the command line."""

from __future__ import annotations

import os
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from cortexkit.config import check_device, parse, resolve_config
from cortexkit.encoding.ridge import DEFAULT_ALPHAS
from cortexkit.errors import ConfigError, listed
from cortexkit.features import get_extractor


class FeatureSpec(BaseModel):
    """One feature space: an extractor from the registry and its parameters."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="registry name, e.g. pixels, pixel_pca, gabor")
    params: dict[str, Any] = Field(default_factory=dict, description="keyword arguments of the extractor")
    label: str | None = Field(None, description="model name in results (defaults to name)")

    @property
    def model_name(self) -> str:
        from cortexkit.registry import is_user_reference

        if self.label:
            return self.label
        # your own model (path/to/model.py:Name): named after the object, not its file path
        return self.name.rpartition(":")[2] if is_user_reference(self.name) else self.name


class RidgeSpec(BaseModel):
    """Settings of :class:`cortexkit.encoding.RidgeCV`."""

    model_config = ConfigDict(extra="forbid")

    alphas: list[float] = Field(default_factory=lambda: [float(a) for a in DEFAULT_ALPHAS])
    cv: int = Field(5, ge=2)
    scoring: str = "r2"
    fit_intercept: bool = True
    standardize: bool = False
    dtype: str = "float32"
    chunk_size: int | None = Field(None, ge=1, description="most targets per block")
    max_memory: str | None = Field(None, description="memory budget of a fit, e.g. 4GB")

    @field_validator("max_memory")
    @classmethod
    def _memory(cls, value):
        from cortexkit.memory import parse_memory

        parse_memory(value)  # a size it cannot read, or one too small for any fit, fails with the config
        return value
    scheduler: str | None = Field(None, description="Dask scheduler address, e.g. tcp://host:8786")


STACKED = "stacked"


class StackSpec(BaseModel):
    """A stacked model over fitted ones (:mod:`cortexkit.encoding.stacking`): per unit, convex weights
    of the models' predictions fitted to their out-of-fold predictions on the training stimuli."""

    model_config = ConfigDict(extra="forbid")

    models: list[str] = Field(default_factory=list, description="model names to combine (default: every model of the run)")
    cv: int = Field(5, ge=2, description="folds of the out-of-fold predictions")


BANDED = "banded"


class BandedSpec(BaseModel):
    """A banded (joint) model over fitted feature spaces (:class:`cortexkit.encoding.BandedRidgeCV`):
    one fit on their concatenated features with a penalty per space and per unit, chosen by CV on the
    training stimuli; its test prediction is also kept split per space (variance partitioning reads it)."""

    model_config = ConfigDict(extra="forbid")

    models: list[str] = Field(default_factory=list, description="model names to join (default: every model of the run)")
    n_iter: int = Field(20, ge=1, description="candidate weightings of the spaces (equal, each alone, then random)")
    concentration: list[float] = Field(default_factory=lambda: [0.1, 1.0],
                                       description="Dirichlet concentrations of the random weightings")

    @field_validator("concentration")
    @classmethod
    def _positive(cls, value):
        if not value or min(value) <= 0:
            raise ValueError(f"concentration must be positive numbers, got {value}")
        return value


class EncodingConfig(BaseModel):
    """An encoding run: fit each feature space on the train split, score on the test split."""

    model_config = ConfigDict(extra="forbid")

    features: list[FeatureSpec] = Field(
        default_factory=lambda: [FeatureSpec(name="pixels"), FeatureSpec(name="pixel_pca"), FeatureSpec(name="gabor")]
    )
    ridge: RidgeSpec = Field(default_factory=RidgeSpec)
    ceiling_splits: int = Field(50, ge=1, description="random split-halves for the noise ceiling")
    permutations: int = Field(1000, ge=0, le=1_000_000, description="shuffles of the test stimuli for each unit's "
                              "permutation p-value (smallest p: 1 / (1 + permutations); 0: no test)")
    stack: StackSpec | None = Field(None, description="also fit a stacked model over the fitted ones")
    banded: BandedSpec | None = Field(None, description="also fit a banded ridge model joining the fitted ones")
    device: str = Field("cpu", description="where the ridge and the feature networks run (cpu, cuda, cuda:N); a "
                                           "feature space's own `device` parameter overrides it for its network")
    seed: int = Field(0, ge=0, lt=2**32, description="seed of every random draw (numpy and torch accept 0 to 2**32 - 1)")

    _device = field_validator("device")(classmethod(lambda cls, v: check_device(v)))

    @model_validator(mode="before")
    @classmethod
    def _ridge_device(cls, raw):
        """Run folders written before the device moved here kept it under ``ridge``."""
        if isinstance(raw, dict) and isinstance(raw.get("ridge"), dict) and "device" in raw["ridge"]:
            ridge = dict(raw["ridge"])
            raw = {**raw, "ridge": ridge, "device": raw.get("device", ridge.pop("device"))}
        return raw

    @field_validator("features")
    @classmethod
    def _unique_labels(cls, specs: list[FeatureSpec]) -> list[FeatureSpec]:
        names = [s.model_name for s in specs]
        if len(set(names)) != len(names):
            raise ValueError(f"feature spaces need distinct labels, got {names}")
        if not specs:
            raise ValueError("at least one feature space is needed")
        return specs


def spec_extractor(spec: FeatureSpec, device: str = "cpu"):
    """The extractor of ``spec``, its network on ``device`` where it has one (unless the spec's own
    parameters name a device)."""
    ex = get_extractor(spec.name, spec.params)
    if "device" in ex.get_params(deep=False) and "device" not in spec.params and device != ex.get_params()["device"]:
        ex = get_extractor(spec.name, {**spec.params, "device": device})
    return ex


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
        raise ConfigError("--features is empty; `cortexkit list features` lists the feature spaces")
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
        raise ConfigError(f"no feature space of {listed(s.name for s in specs)} takes parameter(s) {listed(sorted(set(params) - taken))}; "
                          "`cortexkit list features` lists each one's parameters")
    if layers is not None and not layered:
        raise ConfigError(f"--layers applies to multi-layer feature spaces (alexnet, vgg16, efficientnet_lite0, "
                          f"expansion); {[s.name for s in specs]} have none")
    return out



def encoding_config(path: str | os.PathLike | None = None, *, base: EncodingConfig | None = None,
                    features: str | None = None, layers: str | None = None, params: dict | None = None,
                    seed: int | None = None, device: str | None = None, max_memory: str | None = None,
                    scheduler: str | None = None, banded: bool = False, permutations: int | None = None) -> EncodingConfig:
    """The config of ``cortexkit fit``: a YAML file (``path``) or a named model's config (``base``),
    else the defaults; then the options given on the command line (None: not given).

    ``features`` (a comma list of feature spaces) replaces the feature spaces; ``layers`` and
    ``params`` apply to every feature space that takes them (see :func:`feature_specs`); ``banded``
    adds a banded model joining every model of the run (unless the config already has one).
    """
    if path is not None and base is not None:
        raise ConfigError("give --config or --model, not both")
    start = resolve_config(EncodingConfig, path) if path is not None else (base or EncodingConfig())
    specs = feature_specs(features, layers=layers, params=params, default=start.features)
    ridge = {k: v for k, v in {"max_memory": max_memory, "scheduler": scheduler}.items() if v is not None}
    given = {k: v for k, v in {"seed": seed, "device": device, "permutations": permutations}.items() if v is not None}
    merged = {**start.model_dump(), "features": [s.model_dump() for s in specs], **given,
              "ridge": {**start.ridge.model_dump(), **ridge}}
    if banded and merged.get("banded") is None:
        merged["banded"] = BandedSpec().model_dump()
    return parse(EncodingConfig, merged, str(path) if path else "options")
