"""Finite-impulse-response delays for continuous recordings (movie fMRI, calcium at a slow frame
rate): the features of the ``d`` samples before each response, side by side, so that a linear
model learns the response's time course per feature (the haemodynamic response, for fMRI) instead
of assuming one lag (as in the Gallant lab's voxelwise modelling with himalaya)."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from cortexkit.errors import ConfigError, DataError, listed


def _check_delays(delays) -> np.ndarray:
    d = np.asarray(delays)
    if d.ndim != 1 or not len(d) or not np.issubdtype(d.dtype, np.integer) or (d < 0).any() or len(set(d)) != len(d):
        raise ConfigError(f"delays must be distinct non-negative integers (samples), got {listed(np.ravel(delays))}")
    return d.astype(int)


def delay_features(X, delays, runs=None) -> np.ndarray:
    """``X`` (sample, feature) in time order -> (sample, delay * feature): block ``j`` holds the features
    ``delays[j]`` samples earlier, zero before the start of each run (``runs``: a label per sample;
    samples of a run must be consecutive), so nothing leaks across run boundaries."""
    X = np.asarray(X)
    if X.ndim != 2:
        raise DataError(f"expected (sample, feature), got shape {X.shape}", variable="X")
    d = _check_delays(delays)
    runs = np.zeros(len(X), dtype=int) if runs is None else np.asarray(runs)
    if runs.shape != (len(X),):
        raise DataError(f"has {runs.shape} labels for {len(X)} samples", variable="runs")
    # position of each sample within its run (runs must be contiguous blocks)
    change = np.r_[True, runs[1:] != runs[:-1]]
    if len(np.unique(runs)) != change.sum():
        raise DataError("a run's samples are not consecutive; sort the samples by run and time", variable="runs")
    start = np.maximum.accumulate(np.where(change, np.arange(len(X)), 0))
    position = np.arange(len(X)) - start
    out = np.zeros((len(X), len(d) * X.shape[1]), dtype=X.dtype)
    for j, lag in enumerate(d):
        ok = position >= lag
        out[ok, j * X.shape[1]:(j + 1) * X.shape[1]] = X[np.flatnonzero(ok) - lag]
    return out


def per_delay(coef, delays) -> np.ndarray:
    """Weights (unit, delay * feature) of a model on :func:`delay_features` as (unit, delay, feature)."""
    coef = np.atleast_2d(np.asarray(coef))
    d = _check_delays(delays)
    if coef.shape[1] % len(d):
        raise DataError(f"{coef.shape[1]} weights do not split into {len(d)} delays", variable="coef")
    return coef.reshape(len(coef), len(d), -1)


class Delayer(TransformerMixin, BaseEstimator):
    """scikit-learn transformer of :func:`delay_features` (all samples one run unless ``runs`` is
    given to :meth:`transform`); ``delays`` in samples, e.g. ``(1, 2, 3, 4)`` at a 2 s TR."""

    def __init__(self, delays=(1, 2, 3, 4)):
        self.delays = delays

    def fit(self, X, y=None):
        """Check the delays and remember the number of features."""
        _check_delays(self.delays)
        self.n_features_in_ = np.asarray(X).shape[1]
        return self

    def transform(self, X, runs=None):
        """Delayed features of ``X`` (see :func:`delay_features`)."""
        check_is_fitted(self, "n_features_in_")
        return delay_features(X, self.delays, runs)

    def per_delay(self, coef) -> np.ndarray:
        """Weights fitted on the delayed features as (unit, delay, feature)."""
        return per_delay(coef, self.delays)
