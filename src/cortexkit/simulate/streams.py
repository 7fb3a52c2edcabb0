"""Simulated dorsal and ventral streams seeing the same movies, with the truth kept.

Movies show one of ``n_objects`` textured objects (a natural-image patch in a soft circular
aperture on grey) translating in one of ``n_directions`` directions at one of ``speeds``, from one
of ``n_starts`` starting offsets. Two populations are recorded together:

- **dorsal** (MT-like): the direction-selective motion-energy units of :mod:`cortexkit.simulate.mt`
  (spatio-temporal Gabor quadrature pairs with motion opponency);
- **ventral** (V4-like, form-selective): each frame's Gabor-energy texture signature (energy per
  scale and orientation, pooled over the whole image so it does not depend on where the object is),
  averaged over frames, then a rectified random linear combination per unit. Averaging frames makes
  these units blind to the direction and speed of motion; pooling over space makes them tolerant to
  position.

So the dorsal population carries motion and the ventral one form: the double dissociation that
``cortexkit compare regions`` tests. Trials are Poisson counts; every movie is shown ``n_repeats`` times and
a seeded ``test_fraction`` of the movies is the test split. Stimulus coordinates ``object``,
``motion_direction`` (deg, 0 = rightward, 90 = upward), ``motion_speed`` (px/frame); unit
coordinate ``area`` (``dorsal`` / ``ventral``); ``true_rate`` (stimulus, unit).
"""

from __future__ import annotations

import itertools
import json

import numpy as np
import xarray as xr
from pydantic import BaseModel, ConfigDict, Field

from cortexkit.config import with_overrides
from cortexkit.data.model import make_dataset
from cortexkit.image import resize, to_grayscale
from cortexkit.simulate.mt import MTPopulation
from cortexkit.simulate.stimuli import NATURAL_IMAGE_SOURCES, source_image


class StreamsSimulationConfig(BaseModel):
    """Settings of :func:`simulate_streams` (``cortexkit data simulate --population streams``)."""

    model_config = ConfigDict(extra="forbid")

    n_objects: int = Field(8, ge=2, le=64, description="textured objects (form identities)")
    n_directions: int = Field(8, ge=2, le=36, description="motion directions, evenly spaced")
    speeds: list[float] = Field(default_factory=lambda: [0.75, 1.5], description="speeds in px/frame")
    n_starts: int = Field(2, ge=1, le=8, description="starting offsets of the path per condition")
    n_repeats: int = Field(4, ge=2, description="trials per movie")
    test_fraction: float = Field(0.25, gt=0, lt=1)
    n_dorsal: int = Field(60, ge=1)
    n_ventral: int = Field(60, ge=1)
    size: int = Field(32, ge=16, le=128)
    n_frames: int = Field(12, ge=5, le=64)
    mean_rate: float = Field(5.0, gt=0)
    seed: int = Field(0, ge=0, lt=2**32, description="seed of every random draw (numpy and torch accept 0 to 2**32 - 1)")


def _objects(n: int, size: int, seed: int) -> np.ndarray:
    """``n`` textured patches (n, d, d) with a soft circular aperture, d = size // 2 (zero-mean
    texture times the aperture; contrast normalised)."""
    rng = np.random.default_rng(seed)
    d = size // 2
    images = [to_grayscale(source_image(name), gray_ndim=2) for name in NATURAL_IMAGE_SOURCES]
    yy, xx = np.mgrid[:d, :d] - (d - 1) / 2
    r = np.hypot(yy, xx) / (d / 2)
    aperture = np.clip((1.1 - r) / 0.3, 0, 1)  # flat centre, raised edge
    out = np.empty((n, d, d), np.float32)
    for k in range(n):
        img = images[k % len(images)]
        side = int(d * rng.uniform(2, 4))  # a crop of the photograph at its own scale
        y0, x0 = rng.integers(0, img.shape[0] - side), rng.integers(0, img.shape[1] - side)
        tex = resize(img[y0 : y0 + side, x0 : x0 + side][None], d)[0]
        tex = (tex - tex.mean()) / (tex.std() + 1e-6)
        out[k] = 0.2 * tex * aperture
    return out


def stream_movies(cfg: StreamsSimulationConfig) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Movies (n, frames, size, size) in [0, 1] of every condition and their parameters."""
    objects = _objects(cfg.n_objects, cfg.size, cfg.seed)
    d = objects.shape[1]
    directions = np.arange(cfg.n_directions) * 360.0 / cfg.n_directions
    rng = np.random.default_rng([cfg.seed, 3])
    conditions = list(itertools.product(range(cfg.n_objects), directions, cfg.speeds, range(cfg.n_starts)))
    offsets = rng.uniform(-cfg.size / 8, cfg.size / 8, (cfg.n_starts, 2))
    movies = np.full((len(conditions), cfg.n_frames, cfg.size, cfg.size), 0.5, np.float32)
    t = np.arange(cfg.n_frames) - (cfg.n_frames - 1) / 2
    for i, (k, direction, speed, start) in enumerate(conditions):
        th = np.deg2rad(direction)
        # centre of the object per frame; y grows downwards, so upward motion (90 deg) lowers y
        cx = cfg.size / 2 + offsets[start, 0] + np.cos(th) * speed * t
        cy = cfg.size / 2 + offsets[start, 1] - np.sin(th) * speed * t
        for f in range(cfg.n_frames):
            y0, x0 = int(round(cy[f] - d / 2)), int(round(cx[f] - d / 2))
            ys, xs = slice(max(0, y0), min(cfg.size, y0 + d)), slice(max(0, x0), min(cfg.size, x0 + d))
            movies[i, f, ys, xs] += objects[k, ys.start - y0 : ys.stop - y0, xs.start - x0 : xs.stop - x0]
    params = {"object": np.array([c[0] for c in conditions]), "motion_direction": np.array([c[1] for c in conditions], np.float32),
              "motion_speed": np.array([c[2] for c in conditions], np.float32), "start": np.array([c[3] for c in conditions])}
    return np.clip(movies, 0, 1), params


def _texture_signature(movies: np.ndarray) -> np.ndarray:
    """Gabor energy per (scale, orientation), pooled over space and averaged over frames: (n, channels)."""
    from cortexkit.features import GaborPyramid

    n, t = movies.shape[:2]
    frames = movies.reshape(n * t, *movies.shape[2:])
    gabor = GaborPyramid(outputs=["energy"]).fit(frames[:1])
    energy = gabor.transform(frames)
    channel = gabor.features_.groupby(["wavelength", "orientation"], sort=False).ngroup().to_numpy()
    pooled = np.stack([energy[:, channel == c].mean(1) for c in range(channel.max() + 1)], axis=1)
    return pooled.reshape(n, t, -1).mean(1)


def simulate_streams(config: StreamsSimulationConfig | None = None, **overrides) -> xr.Dataset:
    """Simulate a dorsal (MT-like) and a ventral (V4-like) population recorded together (see the
    module docstring), in the cortexkit data model."""
    cfg = with_overrides(StreamsSimulationConfig, config, overrides)
    movies, params = stream_movies(cfg)
    n = len(movies)
    rng = np.random.default_rng([cfg.seed, 5])
    dorsal = MTPopulation.sample(cfg.n_dorsal, cfg.size, cfg.n_frames, seed=cfg.seed, mean_rate=cfg.mean_rate)
    dorsal_rates = dorsal.rates(movies)
    dorsal_rates *= cfg.mean_rate / max(float(dorsal_rates.mean()), 1e-8)  # calibrated on these movies
    signature = _texture_signature(movies)
    z = (signature - signature.mean(0)) / (signature.std(0) + 1e-8)
    w = rng.standard_normal((z.shape[1], cfg.n_ventral)) / np.sqrt(z.shape[1])
    drive = np.maximum(z @ w + 0.3, 0.0)
    ventral_rates = (drive * cfg.mean_rate / (drive.mean(0) + 1e-8)).astype(np.float32)
    rates = np.concatenate([dorsal_rates, ventral_rates], axis=1).astype(np.float32)
    split = np.where(rng.random(n) < cfg.test_fraction, "test", "train")
    stimulus_id = np.repeat(np.arange(n), cfg.n_repeats)
    responses = np.random.default_rng([cfg.seed, 1]).poisson(rates[stimulus_id]).astype(np.float32)
    area = np.array(["dorsal"] * cfg.n_dorsal + ["ventral"] * cfg.n_ventral)
    ds = make_dataset(
        movies, responses, stimulus_id, split, stimulus_dims=("stimulus", "frame", "y", "x"),
        unit_coords={"area": area},
        stimulus_coords={k: v for k, v in params.items()},
        attrs={"modality": "spikes", "source": "cortexkit.simulate.streams", "license": "CC0-1.0",
               "description": "in-silico dorsal (MT motion energy) and ventral (texture-form) units seeing the same movies",
               "simulation": json.dumps(cfg.model_dump(mode="json"))},
    )
    ds["true_rate"] = (("stimulus", "unit"), rates)
    return ds
