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
    if arr.shape[1:3] == (1, 1):  # the placeholder of a store converted without pixels (nwb reader)
        raise DataError("are 1 x 1 placeholders: the store holds no images (convert it with its images, e.g. "
                        "--option images=...); features and encoding models need pixels", variable=what)
    if not np.isfinite(arr).all():
        raise DataError("contains NaN or inf", variable=what)
    return arr


def check_gray_videos(stimuli, *, what: str = "stimuli") -> np.ndarray:
    """Validate a video batch as float32 grayscale ``(n, frame, y, x)``: colour videos
    ``(n, frame, y, x, channel)`` are converted to luminance; finite."""
    from cortexkit.image import to_grayscale

    arr = np.asarray(stimuli, dtype=np.float32)
    if arr.ndim == 5:
        arr = to_grayscale(arr, gray_ndim=4)
    if arr.ndim != 4:
        raise DataError(f"expected videos (stimulus, frame, y, x[, channel]), got shape {arr.shape}", variable=what)
    if not np.isfinite(arr).all():
        raise DataError("contains NaN or inf", variable=what)
    return arr


def is_video(stimuli) -> bool:
    """(n, frame, y, x) or (n, frame, y, x, 1|3) arrays are videos."""
    shape = np.shape(stimuli)
    return len(shape) == 5 or (len(shape) == 4 and shape[-1] not in (1, 3))


def extract_features(extractor: "FeatureExtractor", stimuli, *, fit_stimuli=None) -> dict[str, np.ndarray]:
    """``{layer: (n_stimuli, n_features)}`` from any extractor, for images or videos.

    Extractors of images given videos see every frame and their features are averaged over frames
    (a 2D model of a movie); video extractors (``accepts_video``) take the videos as they are.
    ``fit_stimuli`` (default: ``stimuli``) fit the extractor first unless it is fitted.
    """
    from sklearn.utils.validation import check_is_fitted
    from sklearn.exceptions import NotFittedError

    videos = is_video(stimuli)
    per_frame = videos and not getattr(extractor, "accepts_video", False)

    def frames(x):
        x = np.asarray(x, dtype=np.float32)
        return x.reshape((-1,) + x.shape[2:]) if per_frame else x

    try:
        check_is_fitted(extractor)
    except NotFittedError:
        extractor.fit(frames(stimuli if fit_stimuli is None else fit_stimuli))
    out = extractor.extract(frames(stimuli))
    if per_frame:
        n, t = np.shape(stimuli)[:2]
        out = {k: v.reshape(n, t, -1).mean(1) for k, v in out.items()}
    return out


class FeatureExtractor(TransformerMixin, BaseEstimator):
    """Base class: subclasses implement ``_fit`` (optional) and ``_transform``."""

    #: name used for the single layer of :meth:`extract` and in results tables
    name = "features"
    #: whether the extractor takes videos (stimulus, frame, y, x[, channel]) itself
    accepts_video = False
    #: whether ``fit`` learns from the training stimuli' contents (a PCA basis). Extractors that only
    #: read the stimuli's shape set False: their features of one stimulus are the same whatever they
    #: were fitted on, so the feature cache can share them between recordings that show the same
    #: stimuli. True (the safe answer) unless an extractor says otherwise.
    learns_from_stimuli = True
    # scikit-learn parameter constraints, checked by `fit` and by `get_extractor` (none by default)
    _parameter_constraints: dict = {}

    def fit(self, stimuli, y=None):
        """Check the stimuli (n, y, x[, channel]) or videos and fit what the extractor learns from them."""
        self._validate_params()  # _parameter_constraints, as scikit-learn estimators do in fit
        stimuli = check_images(stimuli)
        self.input_shape_ = stimuli.shape[1:]
        self._fit(stimuli)
        return self

    def _fit(self, stimuli: np.ndarray) -> None:
        """Learn from training stimuli; nothing by default."""

    def transform(self, stimuli) -> np.ndarray:
        """Features (n_stimuli, n_features) of stimuli (several layers concatenated)."""
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

    def torch_features(self, stimuli) -> dict:
        """Differentiable features of a batch: ``{layer: (n, n_features) tensor}`` from a float tensor
        of images (n, y, x[, channel]) in [0, 1], equal to :meth:`extract` up to float rounding; for
        in-silico experiments (gradients with respect to the pixels). Extractors that cannot say so.
        """
        from cortexkit.errors import ConfigError

        raise ConfigError(f"feature space {self.name!r} is not differentiable in cortexkit (gradient-based "
                          "in-silico experiments need pixels, pixel_pca, gabor or a trained core)")

    def layer_list(self) -> list[str]:
        """Names of the layers :meth:`extract` returns, known before fitting."""
        return [self.name]

    def extract(self, stimuli) -> dict[str, np.ndarray]:
        """``{layer: (n_stimuli, n_features)}``; a single layer for single-stage extractors."""
        return {self.name: self.transform(stimuli)}
