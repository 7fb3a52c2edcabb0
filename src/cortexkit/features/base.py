"""The contract every feature extractor follows.

An extractor is a scikit-learn-style transformer over stimuli: hyper-parameters in ``__init__``
(no work there), ``fit(stimuli)`` for anything learned from the training stimuli (PCA bases; most
extractors learn nothing and only record the input shape), ``transform(stimuli)`` returning a
float32 ``(n_stimuli, n_features)`` array, and ``extract(stimuli)`` returning ``{layer: array}``
for extractors with several layers (one entry, named after the extractor, for the others).
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from cortexkit.errors import DataError

def check_images(stimuli, *, what: str = "stimuli") -> np.ndarray:
    """Validate an image batch: float32 ``(n, y, x)`` or ``(n, y, x, 1|3)``, finite."""
    arr = np.asarray(stimuli, dtype=np.float32)
    if arr.ndim not in (3, 4) or (arr.ndim == 4 and arr.shape[-1] not in (1, 3)):
        raise DataError(
            f"expected images shaped (stimulus, y, x) or (stimulus, y, x, channel), got {arr.shape}",
            variable=what,
        )
    if arr.shape[0] == 0:
        raise DataError("no stimuli", variable=what)
    if not np.isfinite(arr).all():
        raise DataError("contains NaN or inf", variable=what)
    return arr


class FeatureExtractor(TransformerMixin, BaseEstimator):
    """Base class: subclasses implement ``_fit`` (optional) and ``_transform``."""

    #: name used for the single layer of :meth:`extract` and in results tables
    name = "features"

    def fit(self, stimuli, y=None):
        stimuli = check_images(stimuli)
        self.input_shape_ = stimuli.shape[1:]
        self._fit(stimuli)
        return self

    def _fit(self, stimuli: np.ndarray) -> None:
        """Learn from training stimuli; nothing by default."""

    def transform(self, stimuli) -> np.ndarray:
        check_is_fitted(self, "input_shape_")
        stimuli = check_images(stimuli)
        if stimuli.shape[1:] != self.input_shape_:
            raise DataError(
                f"stimuli have shape {stimuli.shape[1:]} per item; this extractor was fitted on "
                f"{self.input_shape_}",
                variable="stimuli",
            )
        return np.ascontiguousarray(self._transform(stimuli), dtype=np.float32)

    def _transform(self, stimuli: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def receptive_fields(self, coef) -> np.ndarray | None:
        """Linear weights on these features mapped back to pixels, ``(n_units, *image_shape)``.

        Only extractors that are linear in the pixels can do this; the others return None.
        """
        return None

    def extract(self, stimuli) -> dict[str, np.ndarray]:
        """``{layer: (n_stimuli, n_features)}``; a single layer for single-stage extractors."""
        return {self.name: self.transform(stimuli)}
