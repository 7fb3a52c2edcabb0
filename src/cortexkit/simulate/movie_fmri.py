"""Continuous movie fMRI with a known haemodynamic delay, for time-delayed encoding
(``cortexkit analyze delays``).

A movie of natural-image crops (a new crop every ``frames_per_tr``-th of a TR is not modelled: one
frame per TR) plays in ``n_train_runs`` training runs of ``run_length`` TRs, and one test run that
is played ``n_test_repeats`` times. Each voxel's neural drive pools the frame's Gabor features
(``gabor``) through a population receptive field, a Gaussian over the image (centre and size drawn
per voxel, sigma 0.08-0.2 of the image) times a positive preference over the channels, as the V1
voxels of :mod:`cortexkit.simulate.fmri`; its BOLD signal is that drive
convolved, within each run, with a gamma-shaped haemodynamic response sampled at the TR,
:math:`h(t) \\propto t^{a} e^{-t/b}` with :math:`a = 6` and :math:`ab` = ``hrf_peak`` seconds (no
undershoot), then Gaussian noise (a new draw on every repeat). The truth: attribute
``true_delay`` (the TR at which the sampled response peaks), ``hrf`` (the sampled response, per TR
from 0), and ``true_signal`` per voxel and trial-free stimulus. Trials carry ``run`` (which run)
and ``tr`` (position in it); a test TR's stimulus is its frame, the same on every repeat, so
averaging repeats gives one response per test TR.

Frames change every TR independently (a fast-cut movie), which makes the delay identifiable; a
real movie's slowly changing frames blur it, as they blur the FIR weights of real voxels.
"""

from __future__ import annotations

import json

import numpy as np
import xarray as xr
from pydantic import BaseModel, ConfigDict, Field

from cortexkit.config import with_overrides
from cortexkit.data.model import make_dataset
from cortexkit.simulate.fmri import feature_positions
from cortexkit.simulate.stimuli import natural_image_crops, replace_copies


class MovieFMRISimulationConfig(BaseModel):
    """Settings of :func:`simulate_movie_fmri` (``cortexkit data simulate --population movie-fmri``)."""

    model_config = ConfigDict(extra="forbid")

    n_train_runs: int = Field(8, ge=2, description="training runs, each a different part of the movie")
    run_length: int = Field(100, ge=10, description="TRs per run")
    n_test_repeats: int = Field(4, ge=2, description="plays of the one test run")
    n_units: int = Field(40, ge=1, description="voxels")
    size: int = Field(32, ge=16, le=128, description="frame side in pixels")
    tr: float = Field(2.0, gt=0, description="seconds per TR (one frame per TR)")
    hrf_peak: float = Field(6.0, gt=0, description="seconds from a frame to the peak of its response")
    noise: float = Field(0.6, ge=0, description="noise sd per TR (the drive has variance 1)")
    seed: int = Field(0, ge=0, lt=2**32, description="seed of every random draw (numpy and torch accept 0 to 2**32 - 1)")


def hrf(tr: float, peak: float, length: int) -> np.ndarray:
    """A gamma-shaped haemodynamic response sampled every ``tr`` s from 0, peaking at ``peak`` s, unit sum."""
    t = np.arange(length) * tr
    a = 6.0
    h = (t / peak) ** a * np.exp(-a * (t / peak - 1))
    return h / h.sum()


def simulate_movie_fmri(config: MovieFMRISimulationConfig | None = None, **overrides) -> xr.Dataset:
    """Simulate continuous movie fMRI with a known haemodynamic delay (see the module docstring)."""
    from cortexkit.features import get_extractor

    cfg = with_overrides(MovieFMRISimulationConfig, config, overrides)
    L = cfg.run_length
    n_frames = (cfg.n_train_runs + 1) * L
    frames = natural_image_crops(n_frames, cfg.size, seed=cfg.seed)
    # the test run's frames are never (near-)copies of training frames
    frames[cfg.n_train_runs * L:] = replace_copies(frames[: cfg.n_train_runs * L], frames[cfg.n_train_runs * L:],
                                                   lambda k, seed: natural_image_crops(k, cfg.size, seed=seed), cfg.seed)
    extractor = get_extractor("gabor", {}).fit(frames[: cfg.n_train_runs * L])
    features = extractor.transform(frames)
    pos, channel = feature_positions(extractor, "gabor", features.shape[1])
    rng = np.random.default_rng([cfg.seed, 21])
    cx, cy = rng.uniform(0.2, 0.8, cfg.n_units), rng.uniform(0.2, 0.8, cfg.n_units)
    sigma = rng.uniform(0.08, 0.2, cfg.n_units)
    d2 = (pos[:, 0, None] - cx[None]) ** 2 + (pos[:, 1, None] - cy[None]) ** 2
    preference = np.exp(0.5 * rng.standard_normal((channel.max() + 1, cfg.n_units)))
    drive = features @ (np.exp(-d2 / (2 * sigma[None] ** 2)) * preference[channel])
    train = slice(0, cfg.n_train_runs * L)
    drive = (drive - drive[train].mean(0)) / np.where(drive[train].std(0) > 0, drive[train].std(0), 1.0)
    response = hrf(cfg.tr, cfg.hrf_peak, int(np.ceil(3 * cfg.hrf_peak / cfg.tr)) + 1)
    bold = np.zeros_like(drive)
    for run in range(cfg.n_train_runs + 1):  # convolution within each run: no signal crosses a run start
        part = slice(run * L, (run + 1) * L)
        for k, h in enumerate(response):
            bold[part][k:] += h * drive[part][: L - k]
    bold /= bold[: cfg.n_train_runs * L].std(0)
    # trials: each training TR once, the test run's TRs once per repeat, in playing order
    test = np.arange(cfg.n_train_runs * L, n_frames)
    stimulus_id = np.r_[np.arange(cfg.n_train_runs * L), np.tile(test, cfg.n_test_repeats)]
    run = np.r_[np.repeat(np.arange(cfg.n_train_runs), L), np.repeat(cfg.n_train_runs + np.arange(cfg.n_test_repeats), L)]
    position = np.tile(np.arange(L), cfg.n_train_runs + cfg.n_test_repeats)
    responses = bold[stimulus_id] + cfg.noise * rng.standard_normal((len(stimulus_id), cfg.n_units))
    split = np.where(np.arange(n_frames) < cfg.n_train_runs * L, "train", "test")
    ds = make_dataset(
        frames, responses.astype(np.float32), stimulus_id, split,
        attrs={"modality": "fmri", "source": "cortexkit.simulate.movie_fmri", "license": "CC0-1.0",
               "description": "in-silico continuous movie fMRI with a known haemodynamic delay",
               "sampling_rate": 1.0 / cfg.tr, "true_delay": int(np.argmax(response)),
               "hrf": json.dumps([round(float(v), 6) for v in response]),
               "simulation": json.dumps(cfg.model_dump(mode="json"))},
    )
    ds = ds.assign_coords(run=("trial", run), tr=("trial", position))
    ds["true_signal"] = (("stimulus", "unit"), bold.astype(np.float32))
    return ds
