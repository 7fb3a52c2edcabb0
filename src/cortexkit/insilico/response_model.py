"""The one interface of in-silico experiments: a differentiable model from images to responses."""

from __future__ import annotations

import numpy as np
import torch

from cortexkit.errors import ConfigError


class ResponseModel(torch.nn.Module):
    """Predicted responses (n, unit) of a batch of images (n, y, x[, channel]) in [0, 1].

    Built from a fitted ridge model (:func:`cortexkit.pipelines.response_model` reads one from a run):
    the feature space's differentiable forward pass (:meth:`~cortexkit.features.base.FeatureExtractor.torch_features`) followed by the
    ridge weights, so its predictions equal the run's (to float rounding) and gradients reach the
    pixels.

    Attributes
    ----------
    units : array of str
        Unit names, in output order.
    image_shape : tuple
        The shape of one stimulus the model takes.
    """

    def __init__(self, extractor, layer: str, coef: np.ndarray, intercept: np.ndarray, units, image_shape):
        super().__init__()
        extractor.torch_features(torch.zeros((1,) + tuple(image_shape)))  # not differentiable: say so now
        self.extractor = extractor
        self.layer = layer
        self.register_buffer("coef", torch.as_tensor(np.asarray(coef, np.float32)))
        self.register_buffer("intercept", torch.as_tensor(np.asarray(intercept, np.float32)))
        self.units = np.asarray(units).astype(str)
        self.image_shape = tuple(image_shape)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Responses (n, unit) of images (n, y, x[, channel])."""
        features = self.extractor.torch_features(images)[self.layer]
        return features @ self.coef.T + self.intercept

    def unit_index(self, units) -> np.ndarray:
        """Output indices of unit names (or pass integer indices through)."""
        units = list(units)
        if all(isinstance(u, (int, np.integer)) for u in units):
            bad = [u for u in units if not 0 <= u < len(self.units)]
            if bad:
                raise ConfigError(f"unit indices {bad} out of range 0..{len(self.units) - 1}")
            return np.asarray(units, dtype=int)
        lookup = {u: i for i, u in enumerate(self.units)}
        missing = [u for u in units if str(u) not in lookup]
        if missing:
            raise ConfigError(f"no unit(s) {missing[:5]} in the model; it has {len(self.units)} units")
        return np.asarray([lookup[str(u)] for u in units], dtype=int)

    @torch.no_grad()
    def predict(self, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """Responses (n, unit) of a numpy batch, in batches."""
        out = [self(torch.as_tensor(np.asarray(images[a:a + batch_size], np.float32))).numpy()
               for a in range(0, len(images), batch_size)]
        return np.concatenate(out)
