"""In-silico MT: direction-selective motion-energy units responding to movies.

Each unit is a spatio-temporal Gabor quadrature pair at its receptive-field position, tuned to a
direction, a spatial wavelength and a temporal frequency (hence a speed); its drive is the motion
energy ``sqrt(even^2 + odd^2)`` averaged over the movie, minus ``opponency`` times the energy of the
same filter tuned to the opposite direction (motion opponency, as in MT), rectified. Rates are
scaled so each unit's mean over calibration movies is its ``mean_rate``; trials are Poisson counts.

Movies (:func:`motion_movies`) mix drifting gratings in random directions and natural-image crops
translating at random velocities, so direction, speed and spatial structure all vary.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
import xarray as xr
from pydantic import BaseModel, ConfigDict, Field

from cortexkit.config import with_overrides
from cortexkit.data.model import make_dataset
from cortexkit.filters import gabor3d
from cortexkit.render import drifting_gratings
from cortexkit.simulate.stimuli import NATURAL_IMAGE_SOURCES, source_image
from cortexkit.image import resize, to_grayscale


def motion_movies(n: int, size: int = 24, n_frames: int = 12, *, seed: int = 0, grating_fraction: float = 0.5,
                  max_speed: float = 2.0) -> tuple[np.ndarray, pd.DataFrame]:
    """Movies (n, frames, size, size) in [0, 1] and their parameters.

    Gratings: random direction, wavelength (4-12 px), temporal frequency (0-0.25 cycles/frame) and
    contrast (0.3-1). Natural crops: a window sliding over a bundled photograph at a random
    velocity (up to ``max_speed`` px/frame in a random direction).
    """
    rng = np.random.default_rng(seed)
    # visual convention: x right, y up (row 0 is the top), direction 90 = upward motion
    movies = np.empty((n, n_frames, size, size), dtype=np.float32)
    rows = []
    images = [to_grayscale(source_image(name), gray_ndim=2) for name in NATURAL_IMAGE_SOURCES]
    for i in range(n):
        direction = rng.uniform(0, 360)
        th = np.deg2rad(direction)
        if rng.random() < grating_fraction:
            lam, tf, c = rng.uniform(4, 12), rng.uniform(0, 0.25), rng.uniform(0.3, 1.0)
            phase = np.rad2deg(rng.uniform(0, 2 * np.pi))
            movies[i] = drifting_gratings([direction], [lam], [tf], [phase], [c], size=size, n_frames=n_frames)[0]
            rows.append({"kind": "grating", "direction": direction, "speed": tf * lam, "wavelength": lam})
        else:
            img = images[rng.integers(len(images))]
            speed = rng.uniform(0, max_speed)
            scale = rng.uniform(1, 3)  # crop side in source pixels = size * scale
            side = int(size * scale)
            travel = speed * scale * n_frames
            h, w = img.shape
            margin = int(np.ceil(travel)) + 1
            y0 = rng.integers(margin, h - side - margin)
            x0 = rng.integers(margin, w - side - margin)
            for f in range(n_frames):
                # the content moves in `direction` (up = towards row 0): the window moves the opposite way
                ys = int(round(y0 + np.sin(th) * speed * scale * f))
                xs = int(round(x0 - np.cos(th) * speed * scale * f))
                movies[i, f] = resize(img[ys : ys + side, xs : xs + side][None], size)[0]
            rows.append({"kind": "natural", "direction": direction, "speed": speed, "wavelength": np.nan})
    return np.clip(movies, 0, 1), pd.DataFrame(rows)


class MTSimulationConfig(BaseModel):
    """Settings of :func:`simulate_mt`."""

    model_config = ConfigDict(extra="forbid")

    n_train: int = Field(1500, ge=1)
    n_test: int = Field(100, ge=1)
    n_repeats: int = Field(10, ge=2)
    n_units: int = Field(40, ge=1)
    size: int = Field(24, ge=12)
    n_frames: int = Field(12, ge=5)
    mean_rate: float = Field(5.0, gt=0)
    rate_spread: float = Field(0.5, ge=0)
    opponency: float = Field(0.5, ge=0, le=1, description="fraction of the null-direction energy subtracted")
    seed: int = Field(0, ge=0, lt=2**32, description="seed of every random draw (numpy and torch accept 0 to 2**32 - 1)")


def _unit_filters(params: pd.DataFrame, size: int, n_frames: int, opposite: bool) -> torch.Tensor:
    """Quadrature pairs placed at each unit's position: (units, 2, frames, size, size)."""
    out = np.zeros((len(params), 2, n_frames, size, size), dtype=np.float32)
    for i, p in enumerate(params.itertuples()):
        k = 2 * int(np.ceil(2.5 * p.sigma)) + 1
        th = np.deg2rad(p.direction + (180.0 if opposite else 0.0))
        for j, ph in enumerate((0.0, np.pi / 2)):
            g = gabor3d(k, n_frames, th, p.wavelength, p.sigma, p.temporal_frequency, n_frames / 4, ph)
            # paste the kernel centred on the RF (row rf_y, column rf_x), clipped at the borders
            cy, cx = int(round(p.rf_y)), int(round(p.rf_x))
            half = k // 2
            y0, x0 = max(0, cy - half), max(0, cx - half)
            y1, x1 = min(size, cy + half + 1), min(size, cx + half + 1)
            out[i, j, :, y0:y1, x0:x1] = g[:, y0 - (cy - half) : k - ((cy + half + 1) - y1), x0 - (cx - half) : k - ((cx + half + 1) - x1)]
    return torch.from_numpy(out)


def _energy(movies: np.ndarray, filters: torch.Tensor) -> np.ndarray:
    """Motion energy of each unit for each movie: (n_movies, units).

    A unit's filters span the movie (its temporal envelope weights the frames), so its response
    is one dot product per filter of the pair.
    """
    x = torch.from_numpy(np.ascontiguousarray(movies - 0.5)).flatten(2)  # (n, frames, pixels)
    f = filters.flatten(3)  # (units, 2, frames, pixels)
    # correlation at zero temporal lag of each frame-aligned pair = sum over frames and pixels
    resp = torch.einsum("ntp,uktp->nuk", x, f)
    return torch.sqrt((resp**2).sum(-1)).numpy()


@dataclass
class MTPopulation:
    """Model MT units: parameters, their preferred and null-direction filters, and rate scaling.

    Build one with :meth:`sample`; :meth:`rates` gives noise-free mean spike counts for movies of
    ``size`` x ``size`` pixels and ``n_frames`` frames.
    """

    params: pd.DataFrame
    preferred: torch.Tensor
    null: torch.Tensor
    opponency: float
    scale: np.ndarray

    @classmethod
    def sample(cls, n_units: int, size: int, n_frames: int, *, seed: int = 0, mean_rate: float = 5.0,
               rate_spread: float = 0.5, opponency: float = 0.5) -> "MTPopulation":
        """Random units (direction uniform, wavelength 5-10 px log-uniform, temporal frequency
        0.08-0.25 cycles/frame, RF inside the image), calibrated on independent movies."""
        rng = np.random.default_rng(seed)
        lam = np.exp(rng.uniform(np.log(5), np.log(10), n_units))
        sigma = 0.6 * lam
        margin = np.minimum(1.5 * sigma, size / 2 - 1)
        params = pd.DataFrame({
            "direction": rng.uniform(0, 360, n_units),
            "wavelength": lam,
            "temporal_frequency": rng.uniform(0.08, 0.25, n_units),
            "sigma": sigma,
            "rf_x": rng.uniform(margin, size - 1 - margin),
            "rf_y": rng.uniform(margin, size - 1 - margin),
            "mean_rate": mean_rate * np.exp(rate_spread * rng.standard_normal(n_units)),
        })
        params["speed"] = params["temporal_frequency"] * params["wavelength"]
        pop = cls(params, _unit_filters(params, size, n_frames, opposite=False),
                  _unit_filters(params, size, n_frames, opposite=True), opponency, np.ones(n_units))
        calib, _ = motion_movies(400, size, n_frames, seed=seed + 7919)
        pop.scale = params["mean_rate"].to_numpy() / (pop.drive(calib).mean(0) + 1e-8)
        return pop

    def drive(self, movies: np.ndarray) -> np.ndarray:
        """Opponent motion energy, rectified: (n_movies, units)."""
        return np.maximum(_energy(movies, self.preferred) - self.opponency * _energy(movies, self.null), 0.0)

    def rates(self, movies: np.ndarray) -> np.ndarray:
        """Noise-free mean spike counts, (n_movies, units)."""
        return (self.drive(movies) * self.scale).astype(np.float32)


def simulate_mt(config: MTSimulationConfig | None = None, **overrides) -> xr.Dataset:
    """Simulate an MT recording to motion movies, with the ground truth kept.

    Besides the data model: ``true_rate`` (stimulus, unit); unit coordinates ``direction`` (deg,
    0 = rightward, 90 = upward),
    ``speed`` (px/frame), ``wavelength`` (px), ``temporal_frequency`` (cycles/frame), ``rf_x``,
    ``rf_y``, ``sigma``, ``mean_rate``; stimulus coordinates ``kind`` (grating / natural),
    ``motion_direction``, ``motion_speed``.
    """
    cfg = with_overrides(MTSimulationConfig, config, overrides)
    pop = MTPopulation.sample(cfg.n_units, cfg.size, cfg.n_frames, seed=cfg.seed, mean_rate=cfg.mean_rate,
                              rate_spread=cfg.rate_spread, opponency=cfg.opponency)
    params, n = pop.params, cfg.n_units
    n_stim = cfg.n_train + cfg.n_test
    movies, info = motion_movies(n_stim, cfg.size, cfg.n_frames, seed=cfg.seed)
    rates = pop.rates(movies)
    stimulus_id = np.concatenate([np.arange(cfg.n_train), np.repeat(np.arange(cfg.n_train, n_stim), cfg.n_repeats)])
    responses = np.random.default_rng([cfg.seed, 1]).poisson(rates[stimulus_id]).astype(np.float32)
    ds = make_dataset(
        movies, responses, stimulus_id, ["train"] * cfg.n_train + ["test"] * cfg.n_test,
        stimulus_dims=("stimulus", "frame", "y", "x"),
        unit_coords={"area": ["MT"] * n, **{c: params[c].to_numpy(np.float32) for c in params.columns}},
        stimulus_coords={"kind": info["kind"].to_numpy(), "motion_direction": info["direction"].to_numpy(np.float32),
                         "motion_speed": info["speed"].to_numpy(np.float32)},
        attrs={"modality": "spikes", "source": "cortexkit.simulate.mt", "license": "CC0-1.0",
               "description": "in-silico MT motion-energy units, Poisson spike counts per movie",
               "simulation": json.dumps(cfg.model_dump(mode="json"))},
    )
    ds["true_rate"] = (("stimulus", "unit"), rates)
    return ds
