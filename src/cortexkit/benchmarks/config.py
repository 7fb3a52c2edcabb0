"""Configuration of an encoding run: which feature spaces, which ridge settings."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from cortexkit.encoding.ridge import DEFAULT_ALPHAS


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


class EncodingConfig(BaseModel):
    """An encoding run: fit each feature space on the train split, score on the test split."""

    model_config = ConfigDict(extra="forbid")

    features: list[FeatureSpec] = Field(
        default_factory=lambda: [FeatureSpec(name="pixels"), FeatureSpec(name="pixel_pca"), FeatureSpec(name="gabor")]
    )
    ridge: RidgeSpec = Field(default_factory=RidgeSpec)
    ceiling_splits: int = Field(50, ge=1, description="random split-halves for the noise ceiling")
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
