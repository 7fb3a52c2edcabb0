"""The decoder contract: ``fit(responses, stimuli)`` on training data, ``reconstruct(responses)``.

``responses`` are (n_stimuli, n_units) (repeat-averaged); ``stimuli`` (n_stimuli, y, x[, channel])
images or (n_stimuli, frame, y, x[, channel]) videos in [0, 1], already at the resolution the
decoder works at. Reconstructions have the stimuli's shape and range.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator

from cortexkit.errors import DataError
from cortexkit.registry import Registry


# Decoders by name (`cortexkit decode reconstruct --decoder NAME`); each decoder file registers its class.
DECODERS = Registry("decoder")


def check_responses(responses, name: str = "responses") -> np.ndarray:
    """Responses as a finite float32 (n_stimuli, n_units) array, else a DataError."""
    r = np.asarray(responses, dtype=np.float32)
    if r.ndim != 2:
        raise DataError(f"expected (n_stimuli, n_units), got shape {r.shape}", variable=name)
    if not np.isfinite(r).all():
        raise DataError("contains NaN or inf", variable=name)
    return r


def check_stimuli(stimuli, n: int) -> np.ndarray:
    """Stimuli as a float32 array with ``n`` rows in [0, 1], else a DataError."""
    s = np.asarray(stimuli, dtype=np.float32)
    if s.ndim < 3 or len(s) != n:
        raise DataError(f"expected {n} stimuli (n, [frame], y, x[, channel]), got shape {s.shape}", variable="stimuli")
    if not np.isfinite(s).all() or s.min() < 0 or s.max() > 1:
        raise DataError("must be finite and within [0, 1]", variable="stimuli")
    return s


class Decoder(BaseEstimator):
    """Base class: subclasses implement ``_fit`` and ``_reconstruct``."""

    name = "decoder"

    def fit(self, responses, stimuli):
        """Learn the map from responses (n_stimuli, n_units) to the stimuli (n_stimuli, y, x[, channel])."""
        r = check_responses(responses)
        s = check_stimuli(stimuli, len(r))
        self.check_settings(s.shape[1:])
        self.stimulus_shape_ = s.shape[1:]
        self.n_units_ = r.shape[1]
        self._fit(r, s)
        return self

    def reconstruct(self, responses) -> np.ndarray:
        """Stimuli (n, y, x[, channel]) reconstructed from responses (n, n_units)."""
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "stimulus_shape_")
        r = check_responses(responses)
        if r.shape[1] != self.n_units_:
            raise DataError(f"has {r.shape[1]} units; the decoder was fitted on {self.n_units_}", variable="responses")
        out = self._reconstruct(r)
        return np.clip(out.reshape((len(r),) + tuple(self.stimulus_shape_)), 0.0, 1.0).astype(np.float32)

    def check_settings(self, stimulus_shape: tuple) -> None:
        """Refuse (ConfigError) settings that cannot work on stimuli of this shape (per stimulus), before
        any work: reconstruction runs call it before they write anything."""

    def _fit(self, responses: np.ndarray, stimuli: np.ndarray) -> None:
        raise NotImplementedError

    def _reconstruct(self, responses: np.ndarray) -> np.ndarray:
        raise NotImplementedError
