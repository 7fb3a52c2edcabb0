"""A 2D Gabor wavelet pyramid with quadrature-pair energy outputs.

The classic hand-built model of V1 (Kay et al. 2008; the spatial half of Nishimoto et al. 2011's
motion energy): Gabor filters over a grid of positions, orientations and spatial scales. For each
filter the pyramid gives the even (cosine) and odd (sine) linear responses and their energy
``sqrt(even^2 + odd^2)``, the phase-invariant output of a model complex cell.

Scales are spaced geometrically from ``min_wavelength`` pixels per cycle to half the image; the
envelope SD is ``sigma_per_wavelength`` wavelengths (0.5 gives a spatial-frequency bandwidth of
about one octave); filter centres lie on a square grid with a step of ``spacing`` envelope SDs.
Filters are zero-mean and unit-norm, and the image is padded with mid-gray, so a filter that hangs
over the border sees a blank screen there.
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
from cortexkit.errors import ConfigError
from cortexkit.features.base import FeatureExtractor
from cortexkit.features.registry import EXTRACTORS
from cortexkit.filters import gabor_pair
from cortexkit.image import grayscale_tensor, resize, resize_tensor, to_grayscale

OUTPUTS = ("energy", "linear")


@EXTRACTORS.register("gabor")
class GaborPyramid(FeatureExtractor):
    """Gabor wavelet pyramid features for grayscale or colour images (luminance is used).

    Parameters
    ----------
    n_orientations : int
        Orientations evenly spaced over 180 degrees.
    min_wavelength : float
        Finest scale, pixels per cycle (>= 2, the Nyquist limit).
    max_wavelength : float, optional
        Coarsest scale; half the image side by default.
    scales_per_octave : int
        Number of scales per doubling of the wavelength.
    sigma_per_wavelength : float
        Envelope SD in wavelengths.
    spacing : float
        Grid step between filter centres, in envelope SDs.
    outputs : sequence of {"energy", "linear"}
        ``energy`` gives one phase-invariant feature per filter; ``linear`` adds its even and odd
        responses (signed).
    image_size : int, optional
        Resize images to this many pixels per side first (bounds the feature count for large
        images; positions and wavelengths are then in resized pixels).
    batch_size : int
        Stimuli per batch.
    device : str
        Torch device for the convolutions ("cpu", "cuda").

    Attributes
    ----------
    features_ : pandas.DataFrame
        One row per output feature: ``output`` (energy/even/odd), ``wavelength``, ``orientation``
        (degrees), ``x``, ``y`` (centre in pixels).
    """

    learns_from_stimuli = False  # fit reads only the stimuli's shape

    name = "gabor"

    _parameter_constraints: dict = {
        "n_orientations": [Interval(Integral, 1, None, closed="left")],
        "min_wavelength": [Interval(Real, 0, None, closed="neither")],
        "max_wavelength": [Interval(Real, 0, None, closed="neither"), None],
        "scales_per_octave": [Interval(Real, 0, None, closed="neither")],
        "sigma_per_wavelength": [Interval(Real, 0, None, closed="neither")],
        "spacing": [Interval(Real, 0, None, closed="neither")],
        "outputs": [list, tuple],
        "image_size": [Interval(Integral, 8, None, closed="left"), None],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "device": [str],
    }

    def __init__(
        self,
        n_orientations: int = 8,
        min_wavelength: float = 4.0,
        max_wavelength: float | None = None,
        scales_per_octave: int = 2,
        sigma_per_wavelength: float = 0.5,
        spacing: float = 1.0,
        outputs: tuple[str, ...] = ("energy", "linear"),
        image_size: int | None = None,
        batch_size: int = 256,
        device: str = "cpu",
    ):
        self.n_orientations = n_orientations
        self.min_wavelength = min_wavelength
        self.max_wavelength = max_wavelength
        self.scales_per_octave = scales_per_octave
        self.sigma_per_wavelength = sigma_per_wavelength
        self.spacing = spacing
        self.outputs = outputs
        self.image_size = image_size
        self.batch_size = batch_size
        self.device = device

    def _fit(self, stimuli):
        h, w = (self.image_size, self.image_size) if self.image_size else self.input_shape_[:2]
        bad = [o for o in self.outputs if o not in OUTPUTS]
        if bad or not self.outputs:
            raise ConfigError(f"GaborPyramid outputs must be a non-empty subset of {OUTPUTS}, got {self.outputs}")
        if self.min_wavelength < 2:
            raise ConfigError(f"min_wavelength must be >= 2 pixels (Nyquist), got {self.min_wavelength}")
        top = self.max_wavelength or min(h, w) / 2.0
        n_scales = int(math.floor(self.scales_per_octave * math.log2(top / self.min_wavelength) + 1e-9)) + 1
        if n_scales < 1:
            raise ConfigError(f"max_wavelength {top} is below min_wavelength {self.min_wavelength}")
        wavelengths = self.min_wavelength * 2.0 ** (np.arange(n_scales) / self.scales_per_octave)
        thetas = np.arange(self.n_orientations) * np.pi / self.n_orientations
        self.scales_ = []
        rows = []
        for lam in wavelengths:
            sigma = self.sigma_per_wavelength * lam
            half = int(math.ceil(3 * sigma))
            k = 2 * half + 1
            step = max(1, int(round(self.spacing * sigma)))
            # Kernels: (2 * n_orientations, 1, k, k), even then odd per orientation.
            bank = np.concatenate([gabor_pair((k, k), half, half, t, lam, sigma) for t in thetas])
            grid_y = self._grid(h, step)
            grid_x = self._grid(w, step)
            self.scales_.append(
                {"kernels": torch.from_numpy(bank[:, None]), "half": half, "step": step, "gy": grid_y, "gx": grid_x}
            )
            yy, xx = np.meshgrid(grid_y, grid_x, indexing="ij")
            for output in self._output_names():
                for t in thetas:
                    rows.append(
                        pd.DataFrame(
                            {
                                "output": output,
                                "wavelength": lam,
                                "orientation": np.rad2deg(t),
                                "y": yy.ravel(),
                                "x": xx.ravel(),
                            }
                        )
                    )
        self.features_ = pd.concat(rows, ignore_index=True)

    def _output_names(self):
        names = []
        if "energy" in self.outputs:
            names.append("energy")
        if "linear" in self.outputs:
            names += ["even", "odd"]
        return names

    @staticmethod
    def _grid(n: int, step: int) -> np.ndarray:
        count = (n - 1) // step + 1
        offset = ((n - 1) - (count - 1) * step) // 2
        return offset + step * np.arange(count)

    @property
    def n_features_(self) -> int:
        return len(self.features_)

    def _transform(self, stimuli):
        gray = to_grayscale(stimuli)
        if self.image_size:
            gray = resize(gray, self.image_size)
        gray = gray - 0.5  # mid-gray is zero, so padding is a blank screen
        out = np.empty((len(gray), self.n_features_), dtype=np.float32)
        starts = range(0, len(gray), self.batch_size)
        for start in track(starts, f"gabor pyramid: batches of {self.batch_size} of {len(gray)} images"):
            batch = torch.from_numpy(np.ascontiguousarray(gray[start : start + self.batch_size]))
            out[start : start + len(batch)] = self._batch(batch.to(self.device)[:, None]).cpu().numpy()
        return out

    def torch_features(self, stimuli: torch.Tensor) -> dict:
        """Differentiable features of a tensor batch (n, y, x[, channel]) in [0, 1]: luminance,
        resizing and the filter bank as in :meth:`transform` (the energy gets a tiny floor inside its
        square root so that its gradient stays finite at zero)."""
        gray = grayscale_tensor(stimuli)
        if self.image_size and tuple(gray.shape[-2:]) != (self.image_size, self.image_size):
            gray = resize_tensor(gray, self.image_size)
        return {self.name: self._responses((gray - 0.5)[:, None], floor=1e-12)}

    @torch.no_grad()
    def _batch(self, x: torch.Tensor) -> torch.Tensor:
        return self._responses(x)

    def _responses(self, x: torch.Tensor, floor: float = 0.0) -> torch.Tensor:
        blocks = []
        n_ori = self.n_orientations
        for scale in self.scales_:
            half, step = scale["half"], scale["step"]
            gy, gx = scale["gy"], scale["gx"]
            padded = F.pad(x, (half, half, half, half))
            # Crop so that output j of a strided convolution is centred on grid position j.
            sub = padded[:, :, gy[0] : gy[-1] + 2 * half + 1, gx[0] : gx[-1] + 2 * half + 1]
            resp = F.conv2d(sub, scale["kernels"].to(x.device, x.dtype), stride=step)
            resp = resp.reshape(len(x), n_ori, 2, len(gy), len(gx))
            even, odd = resp[:, :, 0], resp[:, :, 1]
            if "energy" in self.outputs:
                blocks.append(torch.sqrt(even**2 + odd**2 + floor).flatten(1))
            if "linear" in self.outputs:
                blocks += [even.flatten(1), odd.flatten(1)]
        return torch.cat(blocks, dim=1)
