"""Pixel features: raw pixels, and their principal components."""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.decomposition import PCA

from sklearn.utils._param_validation import Interval

from cortexkit.errors import ConfigError
from cortexkit.features.base import FeatureExtractor
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
    """

    learns_from_stimuli = False  # fit reads only the stimuli's shape

    name = "pixels"

    _parameter_constraints: dict = {
        "grayscale": ["boolean"],
    }

    def __init__(self, grayscale: bool = False):
        self.grayscale = grayscale

    def _transform(self, stimuli):
        x = to_grayscale(stimuli) if self.grayscale else stimuli
        return x.reshape(len(x), -1)

    def torch_features(self, stimuli):
        """The flattened pixels of a tensor batch (luminance first when ``grayscale``)."""
        x = grayscale_tensor(stimuli) if self.grayscale else stimuli
        return {self.name: x.reshape(len(x), -1)}

    def receptive_fields(self, coef):
        """Weights (n_units, n_features) on the pixels as images (n_units, y, x[, channel])."""
        coef = np.atleast_2d(coef)
        return coef.reshape((len(coef),) + _pixel_shape(self.input_shape_, self.grayscale))


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
