"""Spatio-temporal Gabor pyramid: Adelson-Bergen motion energy for videos.

Each filter is a 3D Gabor: a Gaussian envelope in space (SD ``sigma_per_wavelength`` spatial
wavelengths) and time (SD ``temporal_sigma`` frames) times a drifting carrier
``cos(2 pi (u / wavelength - f_t t) + phase)``, with ``u`` the position along the direction of
motion and ``f_t`` the temporal frequency in cycles per frame. Quadrature pairs give the energy
``sqrt(even^2 + odd^2)``, which is selective for direction and speed (``f_t * wavelength`` pixels
per frame) but not for phase (Adelson & Bergen 1985; the pyramid of Nishimoto et al. 2011 and
STSBench's "3D Gabor" baseline). Directions span 360 degrees for moving filters; a temporal
frequency of 0 gives static orientation filters (over 180 degrees). Directions follow the visual
convention of :mod:`cortexkit.render` (0 = rightward, 90 = upward). Energies are computed at every
time step where the filter fits and averaged over time, one feature per (scale, temporal frequency,
direction, position).
"""

from __future__ import annotations

from numbers import Integral, Real

import math

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from sklearn.utils._param_validation import Interval

from cortexkit._progress import track
from cortexkit.errors import ConfigError, DataError
from cortexkit.features.base import FeatureExtractor, check_gray_videos
from cortexkit.features.registry import EXTRACTORS
from cortexkit.filters import gabor3d
from cortexkit.image import resize


@EXTRACTORS.register("motion_energy")
class MotionEnergy(FeatureExtractor):
    """Motion-energy features of videos (stimulus, frame, y, x[, channel]).

    Parameters
    ----------
    n_directions : int
        Directions of motion over 360 degrees (moving filters).
    temporal_frequencies : sequence of float
        Cycles per frame; 0 adds static orientation filters (``n_directions // 2`` orientations).
    min_wavelength, max_wavelength, scales_per_octave, sigma_per_wavelength, spacing :
        Spatial pyramid, as :class:`~cortexkit.features.GaborPyramid`.
    temporal_sigma : float
        Temporal envelope SD in frames (window = 2 * ceil(2 SD) + 1 frames).
    image_size : int, optional
        Resize frames first.
    batch_size : int
    device : str
    """

    learns_from_stimuli = False  # fit reads only the stimuli's shape

    name = "motion_energy"

    _parameter_constraints: dict = {
        "n_directions": [Interval(Integral, 1, None, closed="left")],
        "temporal_frequencies": [list, tuple],
        "min_wavelength": [Interval(Real, 0, None, closed="neither")],
        "max_wavelength": [Interval(Real, 0, None, closed="neither"), None],
        "scales_per_octave": [Interval(Real, 0, None, closed="neither")],
        "sigma_per_wavelength": [Interval(Real, 0, None, closed="neither")],
        "spacing": [Interval(Real, 0, None, closed="neither")],
        "temporal_sigma": [Interval(Real, 0, None, closed="neither")],
        "image_size": [Interval(Integral, 8, None, closed="left"), None],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "device": [str],
    }
    accepts_video = True

    def __init__(self, n_directions=8, temporal_frequencies=(0.0, 0.0625, 0.125, 0.25), min_wavelength=4.0,
                 max_wavelength=None, scales_per_octave=1, sigma_per_wavelength=0.5, spacing=1.0, temporal_sigma=2.0,
                 image_size=None, batch_size=32, device="cpu"):
        self.n_directions = n_directions
        self.temporal_frequencies = temporal_frequencies
        self.min_wavelength = min_wavelength
        self.max_wavelength = max_wavelength
        self.scales_per_octave = scales_per_octave
        self.sigma_per_wavelength = sigma_per_wavelength
        self.spacing = spacing
        self.temporal_sigma = temporal_sigma
        self.image_size = image_size
        self.batch_size = batch_size
        self.device = device

    def fit(self, stimuli, y=None):
        """Build the spatio-temporal filter bank for the videos' size."""
        self._validate_params()
        videos = check_gray_videos(stimuli)
        self.input_shape_ = videos.shape[1:]
        n_frames, h, w = videos.shape[1:]
        if self.image_size:
            h = w = int(self.image_size)
        t_half = int(math.ceil(2 * self.temporal_sigma))
        kt = 2 * t_half + 1
        if kt > n_frames:
            raise ConfigError(f"temporal window of {kt} frames exceeds the {n_frames} frames per video; lower temporal_sigma")
        top = self.max_wavelength or min(h, w) / 2.0
        n_scales = int(math.floor(self.scales_per_octave * math.log2(top / self.min_wavelength) + 1e-9)) + 1
        if n_scales < 1 or self.min_wavelength < 2:
            raise ConfigError(f"invalid wavelengths: min {self.min_wavelength}, max {top}")
        rows, self.scales_ = [], []
        for lam in self.min_wavelength * 2.0 ** (np.arange(n_scales) / self.scales_per_octave):
            sigma = self.sigma_per_wavelength * lam
            half = int(math.ceil(3 * sigma))
            step = max(1, int(round(self.spacing * sigma)))
            channels = []
            for tf in self.temporal_frequencies:
                dirs = (np.arange(self.n_directions // 2) * np.pi / (self.n_directions // 2) if tf == 0
                        else np.arange(self.n_directions) * 2 * np.pi / self.n_directions)
                for th in dirs:
                    channels.append((float(tf), float(th)))
            bank = np.stack([gabor3d(2 * half + 1, kt, th, lam, sigma, tf, self.temporal_sigma, ph)
                             for tf, th in channels for ph in (0.0, np.pi / 2)])
            gy = self._grid(h, step)
            gx = self._grid(w, step)
            self.scales_.append({"kernels": torch.from_numpy(bank[:, None]), "half": half, "step": step, "gy": gy, "gx": gx})
            yy, xx = np.meshgrid(gy, gx, indexing="ij")
            for tf, th in channels:
                rows.append(pd.DataFrame({"wavelength": lam, "temporal_frequency": tf,
                                          "direction": np.rad2deg(th), "speed": tf * lam, "y": yy.ravel(), "x": xx.ravel()}))
        self.features_ = pd.concat(rows, ignore_index=True)
        return self

    @staticmethod
    def _grid(n: int, step: int) -> np.ndarray:
        count = (n - 1) // step + 1
        return ((n - 1) - (count - 1) * step) // 2 + step * np.arange(count)

    def transform(self, stimuli):
        """Motion-energy features (n_videos, n_filters) of videos (n, frame, y, x[, channel])."""
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "scales_")
        videos = check_gray_videos(stimuli)
        if videos.shape[1:] != self.input_shape_:
            raise DataError(f"videos have shape {videos.shape[1:]}; fitted on {self.input_shape_}", variable="stimuli")
        out = np.empty((len(videos), len(self.features_)), dtype=np.float32)
        for start in track(range(0, len(videos), self.batch_size), f"motion energy: batches of {self.batch_size} of {len(videos)} videos"):
            v = videos[start : start + self.batch_size]
            if self.image_size:
                v = resize(v, int(self.image_size), gray_ndim=4)
            x = torch.from_numpy(np.ascontiguousarray(v - 0.5)).to(self.device)[:, None]  # (n, 1, t, y, x)
            out[start : start + len(v)] = self._batch(x).cpu().numpy()
        return out

    @torch.no_grad()
    def _batch(self, x: torch.Tensor) -> torch.Tensor:
        blocks = []
        for s in self.scales_:
            half, step, gy, gx = s["half"], s["step"], s["gy"], s["gx"]
            padded = F.pad(x, (half, half, half, half))
            sub = padded[..., gy[0] : gy[-1] + 2 * half + 1, gx[0] : gx[-1] + 2 * half + 1]
            resp = F.conv3d(sub, s["kernels"].to(x.device, x.dtype), stride=(1, step, step))
            n, c2, t = resp.shape[:3]
            resp = resp.reshape(n, c2 // 2, 2, t, len(gy), len(gx))
            energy = torch.sqrt(resp[:, :, 0] ** 2 + resp[:, :, 1] ** 2).mean(2)  # average over time
            blocks.append(energy.flatten(1))
        return torch.cat(blocks, dim=1)


@EXTRACTORS.register("random_cnn3d")
class RandomCNN3D(FeatureExtractor):
    """An untrained 3D convolutional stack (a control for video features).

    Three (3 x 5 x 5) convolutions with ``widths`` channels, ReLU and 2x spatial max pooling,
    seeded Kaiming-uniform weights; the last layer averaged over time and pooled to 4 x 4.
    """

    learns_from_stimuli = False  # fit reads only the stimuli's shape

    name = "random_cnn3d"

    _parameter_constraints: dict = {
        "widths": [list, tuple],
        "seed": [Integral],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "device": [str],
    }
    accepts_video = True

    def __init__(self, widths=(16, 32, 64), seed=0, batch_size=16, device="cpu"):
        self.widths = widths
        self.seed = seed
        self.batch_size = batch_size
        self.device = device

    def fit(self, stimuli, y=None):
        """Build the seeded random 3D conv stack for the videos' channels."""
        self._validate_params()
        videos = check_gray_videos(stimuli)
        self.input_shape_ = videos.shape[1:]
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            layers, cin = [], 1
            for w in self.widths:
                layers += [torch.nn.Conv3d(cin, w, (3, 5, 5), padding=(1, 2, 2)), torch.nn.ReLU(), torch.nn.MaxPool3d((1, 2, 2))]
                cin = w
            self.net_ = torch.nn.Sequential(*layers).eval().to(self.device)
        return self

    @torch.no_grad()
    def transform(self, stimuli):
        """Pooled features (n_videos, n_features) of videos (n, frame, y, x[, channel])."""
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "net_")
        videos = check_gray_videos(stimuli)
        out = []
        for start in track(range(0, len(videos), self.batch_size), f"random 3D CNN: batches of {self.batch_size} of {len(videos)} videos"):
            x = torch.from_numpy(np.ascontiguousarray(videos[start : start + self.batch_size] - 0.5))[:, None].to(self.device)
            h = self.net_(x).mean(2)
            out.append(F.adaptive_avg_pool2d(h, 4).flatten(1).cpu().numpy())
        return np.concatenate(out).astype(np.float32)
