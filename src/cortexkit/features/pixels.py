"""Pixel features: raw pixels, and their principal components."""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.decomposition import PCA

from sklearn.utils._param_validation import Interval

from cortexkit.errors import ConfigError
from cortexkit.features.base import FeatureExtractor, is_video
from cortexkit.features.registry import EXTRACTORS
from cortexkit.image import grayscale_tensor, to_grayscale


def _pixel_shape(input_shape: tuple[int, ...], grayscale: bool) -> tuple[int, ...]:
    """Shape of one image as the extractor flattens it."""
    return tuple(input_shape[:2]) if grayscale else tuple(input_shape)


@EXTRACTORS.register("pixels")
class Pixels(FeatureExtractor):
    """Flattened pixel values (optionally luminance only).

    The ridge weights of a pixel model are the unit's linear receptive field in image
    coordinates, which is what :func:`cortexkit.report` draws against the true filters.

    Parameters
    ----------
    grayscale : bool
        Convert RGB stimuli to luminance first.
    region : (top, bottom, left, right), optional
        Keep only this window of the image, as fractions of its height and width (e.g. ``[0, 1, 0,
        0.5]``: the left half), so that two parts of the image can be two feature spaces.
    """

    learns_from_stimuli = False  # fit reads only the stimuli's shape

    name = "pixels"

    _parameter_constraints: dict = {
        "grayscale": ["boolean"],
        "region": [list, tuple, None],
    }

    def __init__(self, grayscale: bool = False, region=None):
        self.grayscale = grayscale
        self.region = region

    def _window(self, height: int, width: int) -> tuple[slice, slice]:
        """Rows and columns of ``region`` in an image of this size."""
        if self.region is None:
            return slice(None), slice(None)
        r = np.asarray(self.region, dtype=float)
        if r.shape != (4,) or not np.isfinite(r).all() or (r < 0).any() or (r > 1).any() or r[0] >= r[1] or r[2] >= r[3]:
            raise ConfigError(f"region must be [top, bottom, left, right] fractions with top < bottom and left < right "
                              f"in [0, 1], got {self.region}")
        rows = slice(int(round(r[0] * height)), max(int(round(r[1] * height)), int(round(r[0] * height)) + 1))
        cols = slice(int(round(r[2] * width)), max(int(round(r[3] * width)), int(round(r[2] * width)) + 1))
        return rows, cols

    def _crop(self, x, video: bool):
        """``x`` (n, [frame,] y, x[, channel]) inside ``region``."""
        if self.region is None:
            return x
        rows, cols = self._window(*x.shape[2:4] if video else x.shape[1:3])
        return x[:, :, rows, cols] if video else x[:, rows, cols]

    def _fit(self, stimuli):
        self._crop(stimuli[:1], is_video(stimuli))  # a bad region fails before any work

    def _transform(self, stimuli):
        x = to_grayscale(stimuli) if self.grayscale else stimuli
        return np.ascontiguousarray(self._crop(x, is_video(stimuli))).reshape(len(x), -1)

    def torch_features(self, stimuli):
        """The flattened pixels of a tensor batch (luminance first when ``grayscale``)."""
        x = grayscale_tensor(stimuli) if self.grayscale else stimuli
        return {self.name: self._crop(x, False).reshape(len(x), -1)}

    def receptive_fields(self, coef):
        """Weights (n_units, n_features) on the pixels as images (n_units, y, x[, channel]), zero
        outside ``region``."""
        coef = np.atleast_2d(coef)
        shape = _pixel_shape(self.input_shape_, self.grayscale)
        rows, cols = self._window(*shape[:2])
        full = np.zeros((len(coef),) + shape, dtype=coef.dtype)
        window = full[:, rows, cols]
        full[:, rows, cols] = coef.reshape((len(coef),) + window.shape[1:])
        return full


@EXTRACTORS.register("pixel_pca")
class PixelPCA(FeatureExtractor):
    """Projection of the pixels on their first principal components, fitted on training stimuli.

    Parameters
    ----------
    n_components : int
        Number of components kept (capped at the number of training stimuli and pixels).
    grayscale : bool
        Convert RGB stimuli to luminance first.
    whiten : bool
        Scale components to unit variance.
    random_state : int
        Seed of the randomised SVD.
    """

    name = "pixel_pca"

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "grayscale": ["boolean"],
        "whiten": ["boolean"],
        "random_state": ["random_state"],
    }

    def __init__(self, n_components: int = 100, grayscale: bool = False, whiten: bool = False, random_state: int = 0):
        self.n_components = n_components
        self.grayscale = grayscale
        self.whiten = whiten
        self.random_state = random_state

    def _flat(self, stimuli):
        x = to_grayscale(stimuli) if self.grayscale else stimuli
        return x.reshape(len(x), -1)

    def _fit(self, stimuli):
        flat = self._flat(stimuli)
        most = int(min(flat.shape))
        if self.n_components > most:  # an error, not a silent clamp: the config would claim components it lacks
            raise ConfigError(f"pixel_pca: n_components {self.n_components} is more than the {flat.shape[0]} fitting "
                              f"stimuli x {flat.shape[1]} pixels allow (at most {most}); ask for {most} or fewer")
        self.pca_ = PCA(n_components=self.n_components, whiten=self.whiten, random_state=self.random_state).fit(flat)

    def _transform(self, stimuli):
        return self.pca_.transform(self._flat(stimuli)).astype(np.float32)

    def torch_features(self, stimuli):
        """The principal-component projection of a tensor batch (same as :meth:`transform`)."""
        import torch

        x = grayscale_tensor(stimuli) if self.grayscale else stimuli
        flat = x.reshape(len(x), -1)
        mean = torch.as_tensor(self.pca_.mean_, dtype=flat.dtype, device=flat.device)
        components = torch.as_tensor(self.pca_.components_, dtype=flat.dtype, device=flat.device)
        out = (flat - mean) @ components.T
        if self.whiten:
            out = out / torch.as_tensor(np.sqrt(self.pca_.explained_variance_), dtype=flat.dtype, device=flat.device)
        return {self.name: out}

    def receptive_fields(self, coef):
        # Features are (x - mean) @ components.T (/ sqrt(var) when whitened): linear in x.
        """Weights (n_units, n_components) on the components, projected back to images (n_units, y, x[, channel])."""
        coef = np.atleast_2d(coef)
        if self.whiten:
            coef = coef / np.sqrt(self.pca_.explained_variance_)
        return (coef @ self.pca_.components_).reshape((len(coef),) + _pixel_shape(self.input_shape_, self.grayscale))
