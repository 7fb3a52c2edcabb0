"""The configuration of a trained predictor (loadable from YAML): its sessions, stimulus handling,
core, readout, shifter and modulator, loss and training settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from cortexkit.config import check_device


class SessionSpec(BaseModel):
    """One session of a trained-predictor config: a store path and its key (file stem by default)."""
    model_config = ConfigDict(extra="forbid")

    path: str
    key: str | None = None

    @property
    def data_key(self) -> str:
        return self.key or Path(self.path).stem.removesuffix(".zarr")


class PredictorConfig(BaseModel):
    """Everything a trained predictor run needs (loadable from YAML)."""

    model_config = ConfigDict(extra="forbid")

    data: list[SessionSpec]
    image_size: int | None = Field(None, ge=8, description="resize stimuli (square) before the core")
    grayscale: bool = False
    frames: int | None = Field(None, ge=1, description="videos: keep the first frames")
    skip_frames: int = Field(0, ge=0, description="time-resolved responses: bins left out of loss and scores")
    core: dict[str, Any] = Field(default_factory=lambda: {"kind": "conv2d"})
    readout: dict[str, Any] = Field(default_factory=lambda: {"kind": "gaussian2d"})
    shifter: bool = False
    modulator: bool | Literal["mlp", "gru"] = Field(False, description="behaviour -> gain: true / mlp per frame, gru over frames")
    nonlinearity: Literal["elu1", "softplus", "exp", "identity"] = "elu1"
    loss: Literal["poisson", "mse"] = "poisson"
    epochs: int = Field(50, ge=1)
    batch_size: int = Field(32, ge=1)
    lr: float = Field(3e-3, gt=0)
    weight_decay: float = Field(0.0, ge=0)
    patience: int | None = Field(8, ge=1)
    lr_patience: int | None = Field(3, ge=1)
    lr_decay: float = Field(0.3, gt=0, le=1)
    grad_clip: float | None = Field(1.0, gt=0)
    bf16: bool = False
    device: str = "cpu"
    seed: int = Field(0, ge=0, lt=2**32, description="seed of every random draw (numpy and torch accept 0 to 2**32 - 1)")
    val_fraction: float = Field(0.1, gt=0, lt=1, description="training stimuli held out for early stopping (no 'val' split)")
    ensemble: int = Field(1, ge=1, le=64, description="cores trained with seeds seed, seed + 1, ...; their predictions averaged")

    _device = field_validator("device")(classmethod(lambda cls, v: check_device(v)))
