"""Simulated 7T fMRI in the Natural Scenes Dataset's design, with the truth kept.

Each voxel pools a population of model units through a population receptive field (pRF): a 2-D
Gaussian over the image (centre and size drawn per voxel, larger in later regions) times a mild,
positive preference over the units' channels (orientations and scales, or network channels). The
units of each region come from a feature space a user can fit:

========= ========================================================== ==================
region    pooled units                                               pRF sigma (image)
========= ========================================================== ==================
V1        Gabor energy (``gabor``, complex-cell-like)                0.05-0.10
V2        untrained AlexNet conv2 (``alexnet``, ``weights: random``) 0.08-0.15
V4        untrained AlexNet conv3                                    0.12-0.22
higher    untrained AlexNet conv5                                    0.20-0.35
========= ========================================================== ==================

The design follows NSD: every subject sees the same ``n_shared`` test images (NSD's shared 1000)
and ``n_train`` images of its own, each ``n_repeats`` times (NSD: 3) in a random order spread over
sessions of ``trials_per_session`` trials; ``missing_repeats`` drops that fraction of trials at
random (subjects who did not finish saw some images once or twice). A voxel's single-trial beta is
its signal (unit variance over the subject's images) plus Gaussian noise of standard deviation
``1 / ncsnr``, the voxel's true noise-ceiling SNR, and optionally ``carryover`` times the previous
trial's signal in the same session (a slow haemodynamic response the GLM did not remove). Betas are
then z-scored per voxel within each session, as NSD recommends. Subjects differ in their voxels
(counts per region, pRFs, preferences) and their training images.

The truth per voxel: ``true_rate`` (stimulus, unit), the noise-free signal; unit coordinates
``true_ncsnr``, ``true_ceiling`` (the noise ceiling of the ``n_repeats``-trial average, a fraction of
variance), ``prf_x``, ``prf_y``, ``prf_sigma`` (fractions of the image), and ``flat_x`` / ``flat_y``,
each voxel's cell on its region's flat grid (ordered by pRF position, like a flattened retinotopic
map). ``area`` names the region.
"""

from __future__ import annotations

import json

import numpy as np
import xarray as xr
from pydantic import BaseModel, ConfigDict, Field, model_validator

from cortexkit.config import with_overrides
from cortexkit.data.model import make_dataset
from cortexkit.errors import ConfigError, listed
from cortexkit.simulate.stimuli import natural_image_crops, replace_copies

# Region -> (feature space, its parameters, the layer pooled, pRF sigma range as a fraction of the image).
ROI_UNITS: dict[str, tuple[str, dict, str, tuple[float, float]]] = {
    "V1": ("gabor", {"outputs": ["energy"]}, "gabor", (0.05, 0.10)),
    "V2": ("alexnet", {"weights": "random", "layers": "all"}, "conv2", (0.08, 0.15)),
    "V4": ("alexnet", {"weights": "random", "layers": "all"}, "conv3", (0.12, 0.22)),
    "higher": ("alexnet", {"weights": "random", "layers": "all"}, "conv5", (0.20, 0.35)),
}


class FMRISimulationConfig(BaseModel):
    """Settings of :func:`simulate_fmri` (``cortexkit data simulate --population fmri``)."""

    model_config = ConfigDict(extra="forbid")

    n_subjects: int = Field(2, ge=1, le=99, description="subjects, each with its own voxels and training images")
    subjects: list[int] | None = Field(None, description="simulate only these subjects (1-based; the same data as "
                                                         "in the full experiment); default all")
    n_shared: int = Field(100, ge=4, description="test images every subject sees (NSD: 1000)")
    n_train: int = Field(600, ge=10, description="training images per subject, unique to it (NSD: 9000)")
    n_repeats: int = Field(3, ge=2, le=10, description="presentations of each image (NSD: 3)")
    missing_repeats: float = Field(0.0, ge=0.0, lt=0.5, description="fraction of trials dropped at random")
    trials_per_session: int = Field(300, ge=10, description="trials per scan session (NSD: 750)")
    size: int = Field(64, ge=32, le=512, description="image side in pixels")
    color: bool = True
    rois: list[str] = Field(default_factory=lambda: list(ROI_UNITS), description=f"regions, of {list(ROI_UNITS)}")
    voxels: tuple[int, int] = Field((60, 120), description="range of voxel counts per region and subject")
    ncsnr_range: tuple[float, float] = Field((0.2, 1.0), description="range of the voxels' true NCSNR")
    preference: float = Field(0.5, ge=0.0, le=3.0, description="spread (log-normal sigma) of a voxel's channel weights")
    carryover: float = Field(0.0, ge=0.0, le=1.0, description="share of the previous trial's signal in a beta")
    seed: int = Field(0, ge=0, lt=2**32, description="seed of every random draw (numpy and torch accept 0 to 2**32 - 1)")

    @model_validator(mode="after")
    def _check(self):
        bad = [r for r in self.rois if r not in ROI_UNITS]
        if bad or not self.rois:
            raise ValueError(f"rois must be a non-empty subset of {listed(ROI_UNITS)}, got {self.rois}")
        lo, hi = self.voxels
        if not 1 <= lo <= hi:
            raise ValueError(f"voxels must be (low, high) with 1 <= low <= high, got {self.voxels}")
        if self.subjects is not None and not (self.subjects and all(1 <= s <= self.n_subjects for s in self.subjects)):
            raise ValueError(f"subjects must be numbers from 1 to n_subjects={self.n_subjects}, got {self.subjects}")
        lo, hi = self.ncsnr_range
        if not 0 < lo <= hi:
            raise ValueError(f"ncsnr_range must be (low, high) with 0 < low <= high, got {self.ncsnr_range}")
        return self


def true_ceiling(ncsnr, n_trials) -> np.ndarray:
    """The noise ceiling (fraction of variance) of an average of ``n_trials`` trials: ncsnr² / (ncsnr² + 1/n)."""
    s2 = np.asarray(ncsnr, dtype=np.float64) ** 2
    return s2 / (s2 + 1.0 / n_trials)


def feature_positions(extractor, layer: str, n_features: int) -> tuple[np.ndarray, np.ndarray]:
    """Where each feature of ``layer`` sits on the image and which channel it belongs to.

    Returns ``(positions (n_features, 2) as (x, y) fractions of the image, channel (n_features,))``.
    Gabor features carry their centre and (wavelength, orientation); a CNN layer pooled to a
    ``g x g`` grid is laid out channel-major.
    """
    if hasattr(extractor, "features_"):  # the Gabor pyramid's table of its features
        table = extractor.features_
        h, w = extractor.image_size or extractor.input_shape_[0], extractor.image_size or extractor.input_shape_[1]
        pos = np.stack([(table["x"].to_numpy() + 0.5) / w, (table["y"].to_numpy() + 0.5) / h], axis=1)
        channel = table.groupby(["output", "wavelength", "orientation"], sort=False).ngroup().to_numpy()
        return pos, channel
    g = getattr(extractor, "pool", None)
    if not isinstance(g, int) or n_features % (g * g):
        raise ConfigError(f"cannot place the features of {layer!r} on the image (pool={g!r})")
    cell = np.arange(n_features) % (g * g)
    row, col = np.divmod(cell, g)
    return np.stack([(col + 0.5) / g, (row + 0.5) / g], axis=1), np.arange(n_features) // (g * g)


def _unit_features(stimuli: np.ndarray, rois: list[str]) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """``{region: (features (n, f), positions (f, 2), channel (f,))}`` of the pooled units."""
    from cortexkit.features import get_extractor
    from cortexkit.features.base import extract_features

    out, done = {}, {}
    for roi in rois:
        name, params, layer, _ = ROI_UNITS[roi]
        key = json.dumps([name, params], sort_keys=True)
        if key not in done:
            extractor = get_extractor(name, params)
            done[key] = (extractor, extract_features(extractor, stimuli))
        extractor, feats = done[key]
        pos, channel = feature_positions(extractor, layer, feats[layer].shape[1])
        out[roi] = (feats[layer], pos, channel)
    return out


def _flat_grid(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cells of a near-square grid for voxels with pRF centres (x, y): rows by y, columns by x."""
    n = len(x)
    cols = int(np.ceil(np.sqrt(n)))
    by_y = np.argsort(y, kind="stable")
    fx, fy = np.empty(n, int), np.empty(n, int)
    for r, start in enumerate(range(0, n, cols)):
        row = by_y[start : start + cols]
        row = row[np.argsort(x[row], kind="stable")]
        fy[row] = r
        fx[row] = np.arange(len(row))
    return fx, fy


def _voxels(units, roi: str, n: int, rng: np.random.Generator, preference: float):
    """Signals (stimulus, n) of ``n`` voxels of one region and their pRFs."""
    feats, pos, channel = units[roi]
    lo, hi = ROI_UNITS[roi][3]
    cx, cy = rng.uniform(0.15, 0.85, n), rng.uniform(0.15, 0.85, n)
    sigma = rng.uniform(lo, hi, n)
    d2 = (pos[:, 0, None] - cx[None]) ** 2 + (pos[:, 1, None] - cy[None]) ** 2
    prf = np.exp(-d2 / (2 * sigma[None] ** 2))  # (features, voxels)
    prefs = np.exp(preference * rng.standard_normal((channel.max() + 1, n)))  # channel preference, > 0
    weights = (prf * prefs[channel]).astype(np.float32)
    signal = feats.astype(np.float32) @ weights
    signal = (signal - signal.mean(0)) / np.where(signal.std(0) > 0, signal.std(0), 1.0)
    return signal, cx, cy, sigma


def simulate_fmri(config: FMRISimulationConfig | None = None, **overrides) -> dict[str, xr.Dataset]:
    """Simulate an NSD-like fMRI experiment: ``{"subj01": dataset, ...}`` in the cortexkit data model.

    Each dataset holds one subject's z-scored single-trial betas (``responses``, trial x voxel), its
    images (the shared test images first, labelled ``shared0000``..., then its own training images,
    ``sNNtrain0000``...), a ``session`` coordinate on ``trial`` and the truth described in the module
    docstring. ``modality`` is ``fmri``.

    Parameters
    ----------
    config : FMRISimulationConfig, optional
    **overrides
        Fields of the config to change, e.g. ``simulate_fmri(n_subjects=1, n_train=200)``.
    """
    cfg = with_overrides(FMRISimulationConfig, config, overrides)
    shared = natural_image_crops(cfg.n_shared, cfg.size, color=cfg.color, seed=cfg.seed * 1000)
    out = {}
    for s in cfg.subjects or range(1, cfg.n_subjects + 1):
        rng = np.random.default_rng([cfg.seed, s])
        own = natural_image_crops(cfg.n_train, cfg.size, color=cfg.color, seed=cfg.seed * 1000 + s)
        # a training image that (nearly) copies a shared test image would leak: drawn again
        own = replace_copies(shared, own, lambda k, seed: natural_image_crops(k, cfg.size, color=cfg.color, seed=seed),
                             seed=cfg.seed * 1000 + s)
        stimuli = np.concatenate([shared, own])
        labels = np.array([f"shared{i:04d}" for i in range(cfg.n_shared)] + [f"s{s:02d}train{i:04d}" for i in range(cfg.n_train)])
        split = np.array(["test"] * cfg.n_shared + ["train"] * cfg.n_train)
        units = _unit_features(stimuli, cfg.rois)
        signals, coords = [], {k: [] for k in ("area", "prf_x", "prf_y", "prf_sigma", "flat_x", "flat_y")}
        for roi in cfg.rois:
            n = int(rng.integers(cfg.voxels[0], cfg.voxels[1] + 1))
            sig, cx, cy, sigma = _voxels(units, roi, n, rng, cfg.preference)
            fx, fy = _flat_grid(cx, cy)
            signals.append(sig)
            for k, v in zip(coords, (np.full(n, roi), cx, cy, sigma, fx, fy)):
                coords[k].append(v)
        signal = np.concatenate(signals, axis=1)  # (stimulus, voxel), unit variance
        coords = {k: np.concatenate(v) for k, v in coords.items()}
        n_vox = signal.shape[1]
        snr = rng.uniform(*cfg.ncsnr_range, n_vox)
        # The design: every image n_repeats times, shuffled, some trials dropped, cut into sessions.
        order = rng.permutation(np.repeat(np.arange(len(stimuli)), cfg.n_repeats))
        keep = rng.random(len(order)) >= cfg.missing_repeats
        order = order[keep]
        session = np.arange(len(order)) // cfg.trials_per_session + 1
        betas = signal[order] + rng.standard_normal((len(order), n_vox)).astype(np.float32) / snr[None].astype(np.float32)
        if cfg.carryover:
            first = np.r_[True, session[1:] != session[:-1]]  # no carry-over into a new session
            previous = np.where(first[:, None], 0.0, np.roll(signal[order], 1, axis=0))
            betas = betas + cfg.carryover * previous
        for k in np.unique(session):  # NSD: z-score each voxel within each session
            rows = session == k
            sd = betas[rows].std(0)
            betas[rows] = (betas[rows] - betas[rows].mean(0)) / np.where(sd > 0, sd, 1.0)
        ds = make_dataset(
            stimuli,
            betas.astype(np.float32),
            labels[order],
            split,
            stimulus=labels,
            unit=np.array([f"s{s:02d}v{i:04d}" for i in range(n_vox)]),
            unit_coords={**coords, "true_ncsnr": snr.astype(np.float32),
                         "true_ceiling": true_ceiling(snr, cfg.n_repeats).astype(np.float32)},
            attrs={
                "modality": "fmri",
                "source": f"cortexkit.simulate.fmri subject {s}",
                "license": "CC0-1.0",
                "description": "in-silico NSD-like 7T fMRI: pRF voxels pooling model units, z-scored single-trial betas",
                "simulation": json.dumps(cfg.model_dump(mode="json")),
                "response_window": "single-trial betas, z-scored per voxel within session",
            },
        )
        ds = ds.assign_coords(session=("trial", session))
        ds["true_rate"] = (("stimulus", "unit"), signal.astype(np.float32))
        out[f"subj{s:02d}"] = ds
    return out
