"""In-silico V1 watching movies: space-time simple and energy cells whose responses carry the pixels.

Each unit has a spatio-temporal Gabor filter (a drifting carrier under a Gaussian envelope in
space and time) at its own receptive-field position, preferred direction, wavelength, temporal
frequency (0 = static) and latency (the frame its temporal envelope peaks on, anywhere in the clip):

- **simple cell**: the filter at its own phase, rectified, ``max(0, L / sd(L) - threshold)``: phase-
  and position-specific, so the population's responses determine the clip's pixels up to noise;
- **energy cell**: ``sqrt(L_even^2 + L_odd^2)`` over a quadrature pair (Adelson & Bergen 1985),
  phase-invariant, as MT's inputs are.

A response is one spike count per clip (the filter spans the clip), scaled so each unit's mean over
independent clips is its ``mean_rate``; trials are Poisson. Clips are the bundled photographs seen
through a window that translates at a random velocity (natural movies with motion).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import xarray as xr
from pydantic import BaseModel, ConfigDict, Field, model_validator

from cortexkit.config import with_overrides
from cortexkit.data.model import make_dataset
from cortexkit.filters import gabor3d


class V1VideoSimulationConfig(BaseModel):
    """Settings of :func:`simulate_v1_video`."""

    model_config = ConfigDict(extra="forbid")

    n_train: int = Field(800, ge=1, description="training clips, shown once each")
    n_test: int = Field(50, ge=1, description="test clips, shown n_repeats times each")
    n_repeats: int = Field(10, ge=2)
    n_simple: int = Field(200, ge=0, description="space-time simple cells")
    n_complex: int = Field(50, ge=0, description="space-time energy cells")
    size: int = Field(16, ge=8, description="frame side in pixels")
    n_frames: int = Field(8, ge=2, description="frames per clip")
    mean_rate: float = Field(5.0, gt=0)
    rate_spread: float = Field(0.5, ge=0)
    threshold: float = Field(-0.5, description="simple-cell rectification threshold, in drive SDs")
    max_speed: float = Field(1.0, ge=0, description="fastest motion of the clips, px/frame")
    seed: int = Field(0, ge=0, lt=2**32, description="seed of every random draw (numpy and torch accept 0 to 2**32 - 1)")

    @model_validator(mode="after")
    def _some_cells(self):
        if self.n_simple + self.n_complex < 1:
            raise ValueError("n_simple + n_complex must be at least 1")
        return self


def _filters(params: pd.DataFrame, size: int, n_frames: int) -> np.ndarray:
    """Each unit's quadrature pair placed at its RF and latency: (2, units, frames, size, size)."""
    out = np.zeros((2, len(params), n_frames, size, size), dtype=np.float32)
    long = 2 * n_frames - 1  # built centred on frame n_frames - 1, then cut so the peak lands on the latency
    for i, p in enumerate(params.itertuples()):
        k = 2 * int(np.ceil(2.5 * p.sigma)) + 1
        for j, ph in enumerate((np.deg2rad(p.phase), np.deg2rad(p.phase) + np.pi / 2)):
            g = gabor3d(k, long, np.deg2rad(p.direction), p.wavelength, p.sigma, p.temporal_frequency, p.t_sigma, ph)
            g = g[n_frames - 1 - int(p.latency): 2 * n_frames - 1 - int(p.latency)]
            cy, cx, half = int(round(p.rf_y)), int(round(p.rf_x)), k // 2
            y0, x0 = max(0, cy - half), max(0, cx - half)
            y1, x1 = min(size, cy + half + 1), min(size, cx + half + 1)
            piece = g[:, y0 - (cy - half): k - ((cy + half + 1) - y1), x0 - (cx - half): k - ((cx + half + 1) - x1)]
            out[j, i, :, y0:y1, x0:x1] = piece / (np.linalg.norm(piece) + 1e-8)
    return out


def _drive(clips: np.ndarray, filters: np.ndarray) -> np.ndarray:
    """Linear drive (2, n_clips, units) of both filters of every unit."""
    x = (np.asarray(clips, np.float32) - 0.5).reshape(len(clips), -1)
    return np.einsum("np,fup->fnu", x, filters.reshape(2, filters.shape[1], -1), optimize=True)


def simulate_v1_video(config: V1VideoSimulationConfig | None = None, **overrides) -> xr.Dataset:
    """Simulate a V1 recording to natural movies, with the ground truth kept.

    Besides the data model (stimuli (stimulus, frame, y, x)): ``true_rate`` (stimulus, unit);
    ``true_filter`` and ``true_filter_quadrature`` (unit, frame, y, x); unit coordinates
    ``cell_type`` (simple / complex), ``direction`` (deg, 90 = upward), ``wavelength`` (px),
    ``temporal_frequency`` (cycles/frame), ``sigma`` (px), ``t_sigma`` and ``latency`` (frames),
    ``phase`` (deg), ``rf_x``, ``rf_y``, ``mean_rate``; stimulus coordinates ``motion_direction``,
    ``motion_speed``.
    """
    from cortexkit.simulate.mt import motion_movies

    cfg = with_overrides(V1VideoSimulationConfig, config, overrides)
    rng = np.random.default_rng(cfg.seed)
    n = cfg.n_simple + cfg.n_complex
    lam = np.exp(rng.uniform(np.log(4), np.log(min(12.0, cfg.size)), n))
    sigma = 0.5 * lam
    margin = np.minimum(sigma, cfg.size / 2 - 1)
    params = pd.DataFrame({
        "cell_type": np.array(["simple"] * cfg.n_simple + ["complex"] * cfg.n_complex, dtype=object),
        "direction": rng.uniform(0, 360, n), "wavelength": lam, "sigma": sigma,
        "temporal_frequency": rng.uniform(0, 0.2, n), "t_sigma": rng.uniform(1.0, cfg.n_frames / 2, n),
        "latency": rng.integers(0, cfg.n_frames, n), "phase": rng.uniform(0, 360, n),
        "rf_x": rng.uniform(margin, cfg.size - 1 - margin), "rf_y": rng.uniform(margin, cfg.size - 1 - margin),
        "mean_rate": cfg.mean_rate * np.exp(cfg.rate_spread * rng.standard_normal(n)),
    })
    filters = _filters(params, cfg.size, cfg.n_frames)
    simple = (params["cell_type"] == "simple").to_numpy()

    def nonlinearity(clips, sd=None):
        drive = _drive(clips, filters)
        sd = drive[0].std(0) + 1e-8 if sd is None else sd
        out = np.where(simple, np.maximum(0.0, drive[0] / sd - cfg.threshold), np.sqrt((drive**2).sum(0)) / sd)
        return out, sd

    calib, _ = motion_movies(400, cfg.size, cfg.n_frames, seed=cfg.seed + 7919, grating_fraction=0.0,
                             max_speed=cfg.max_speed)
    g, sd = nonlinearity(calib)
    scale = params["mean_rate"].to_numpy() / (g.mean(0) + 1e-8)
    n_stim = cfg.n_train + cfg.n_test
    clips, info = motion_movies(n_stim, cfg.size, cfg.n_frames, seed=cfg.seed, grating_fraction=0.0,
                                max_speed=cfg.max_speed)
    rates = (nonlinearity(clips, sd)[0] * scale).astype(np.float32)
    stimulus_id = np.concatenate([np.arange(cfg.n_train), np.repeat(np.arange(cfg.n_train, n_stim), cfg.n_repeats)])
    responses = np.random.default_rng([cfg.seed, 1]).poisson(rates[stimulus_id]).astype(np.float32)
    numeric = [c for c in params.columns if c != "cell_type"]
    ds = make_dataset(
        clips, responses, stimulus_id, ["train"] * cfg.n_train + ["test"] * cfg.n_test,
        stimulus_dims=("stimulus", "frame", "y", "x"),
        unit_coords={"area": ["V1"] * n, "cell_type": params["cell_type"].to_numpy(),
                     **{c: params[c].to_numpy(np.float32) for c in numeric}},
        stimulus_coords={"motion_direction": info["direction"].to_numpy(np.float32),
                         "motion_speed": info["speed"].to_numpy(np.float32)},
        attrs={"modality": "spikes", "source": "cortexkit.simulate.v1_video", "license": "CC0-1.0",
               "description": "in-silico V1 space-time simple and energy cells, Poisson spike counts per natural clip",
               "simulation": json.dumps(cfg.model_dump(mode="json"))},
    )
    ds["true_rate"] = (("stimulus", "unit"), rates)
    ds["true_filter"] = (("unit", "frame", "y", "x"), filters[0])
    ds["true_filter_quadrature"] = (("unit", "frame", "y", "x"), filters[1])
    return ds
