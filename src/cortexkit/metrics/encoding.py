"""Encoding-model scores, computed per unit.

Inputs follow one layout: predictions and repeat-averaged responses are ``(stimulus, unit)``;
single trials are stacked as ``repeats`` arrays ``(stimulus, repeat, unit)``, NaN-padded where
a stimulus has fewer repeats (see :func:`cortexkit.data.repeats`). Extra trailing axes (e.g.
``time``) are treated as more units. Every function returns one value per unit.
"""

from __future__ import annotations

import numpy as np

from cortexkit.errors import DataError


def _pair(y_true, y_pred, name_true="y_true", name_pred="y_pred"):
    a = np.asarray(y_true, dtype=np.float64)
    b = np.asarray(y_pred, dtype=np.float64)
    if a.shape != b.shape:
        raise DataError(f"shape {b.shape} does not match {name_true} shape {a.shape}", variable=name_pred)
    if a.ndim == 0 or a.shape[0] < 2:
        raise DataError(f"need at least 2 stimuli along axis 0, got shape {a.shape}", variable=name_true)
    return a, b


def check_repeats(repeats, name="repeats", min_repeats=2):
    """``repeats`` as a float64 (stimulus, repeat, unit) array; a DataError naming ``name`` when it
    has fewer dims or fewer than ``min_repeats`` repeats."""
    r = np.asarray(repeats, dtype=np.float64)
    if r.ndim < 3:
        raise DataError(f"expected (stimulus, repeat, unit, ...), got shape {r.shape}", variable=name)
    n_valid = np.isfinite(r).sum(axis=1)
    if (n_valid < min_repeats).any():
        raise DataError(
            f"every stimulus needs at least {min_repeats} repeat(s)"
            + (" for a noise estimate" if min_repeats > 1 else ""),
            variable=name,
        )
    return r


def _trial_predictions(r: np.ndarray, y_pred) -> np.ndarray:
    """Predictions shaped to broadcast against repeats: (stimulus, 1|repeat, unit, ...)."""
    p = np.asarray(y_pred, dtype=np.float64)
    if p.shape == r.shape[:1] + r.shape[2:]:
        return p[:, None]
    if p.shape == r.shape:
        return p
    raise DataError(
        f"shape {p.shape} matches neither (stimulus, unit) {r.shape[:1] + r.shape[2:]} nor repeats {r.shape}",
        variable="y_pred",
    )


def pearson(y_true, y_pred) -> np.ndarray:
    r"""Pearson correlation per unit over stimuli (axis 0).

    :math:`r = \frac{\sum (y - \bar y)(\hat y - \bar{\hat y})}{\sqrt{\sum (y - \bar y)^2
    \sum (\hat y - \bar{\hat y})^2}}`. The field's standard encoding score, usually against
    responses averaged over repeats of held-out stimuli. A constant input gives NaN (conventions
    that count it as 0, such as Sensorium's, apply ``np.nan_to_num``).
    """
    a, b = _pair(y_true, y_pred)
    a = a - a.mean(0)
    b = b - b.mean(0)
    denom = np.sqrt((a**2).sum(0) * (b**2).sum(0))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denom > 0, (a * b).sum(0) / denom, np.nan)


def r2(y_true, y_pred) -> np.ndarray:
    r"""Coefficient of determination per unit, :math:`R^2 = 1 - SSE/SST`.

    :math:`SSE = \sum (y - \hat y)^2`, :math:`SST = \sum (y - \bar y)^2` over stimuli. Can be
    negative (worse than predicting the mean); penalises offsets and gains that Pearson ignores.
    Not the same as :func:`pearson_squared` (STSBench's table reports the latter).
    """
    a, b = _pair(y_true, y_pred)
    ss_res = ((a - b) ** 2).sum(0)
    ss_tot = ((a - a.mean(0)) ** 2).sum(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(ss_tot > 0, 1.0 - ss_res / ss_tot, np.nan)


def r2_split(y_true, y_split, include_correlation: bool = True) -> np.ndarray:
    r"""R² of a joint linear model split over its feature spaces by the product measure.

    With a joint prediction :math:`\hat y = \sum_i \hat y_i` (``y_split`` is ``(space, stimulus,
    unit)``, e.g. :meth:`cortexkit.encoding.BandedRidgeCV.predict` with ``split=True``), space
    :math:`i` gets :math:`R^2_i = \sum_t (2\,\hat y_{i} y - \hat y_i \hat y) / \sum_t y^2` on
    centered responses and predictions, so that :math:`\sum_i R^2_i` is the R² of the joint
    prediction (the product measure of himalaya's ``r2_score_split``; with ``include_correlation``
    off, :math:`\hat y_i \hat y` becomes :math:`\hat y_i^2` and the parts no longer sum to the
    joint R² when the spaces' predictions correlate). Centering lets the model's intercept stay
    out of the split. Returns ``(space, unit)``.
    """
    a = np.asarray(y_true, dtype=np.float64)
    b = np.asarray(y_split, dtype=np.float64)
    if b.ndim != a.ndim + 1 or b.shape[1:] != a.shape:
        raise DataError(f"split predictions of shape {b.shape} do not match (space, *{a.shape})", variable="y_split")
    a = a - a.mean(0)
    b = b - b.mean(1, keepdims=True)
    sst = (a**2).sum(0)
    joint = b.sum(0)
    other = b * joint if include_correlation else b**2
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(sst > 0, (2 * b * a - other).sum(1) / sst, np.nan)


def pearson_squared(y_true, y_pred) -> np.ndarray:
    """Squared Pearson correlation per unit, r² (STSBench's "R²" column is the mean of this)."""
    return pearson(y_true, y_pred) ** 2


def _variances(r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(total variance over all trials, noise variance = mean over stimuli of repeat variance)."""
    flat = r.reshape((-1,) + r.shape[2:])
    total = np.nanvar(flat, axis=0, ddof=1)
    noise = np.nanmean(np.nanvar(r, axis=1, ddof=1), axis=0)
    return total, noise


def fev(repeats) -> np.ndarray:
    r"""Fraction of explainable variance per unit (neuralpredictors ``explainable_var``).

    :math:`FEV = (\mathrm{Var}_{total} - \sigma^2_{noise}) / \mathrm{Var}_{total}`, where
    :math:`\mathrm{Var}_{total}` is the variance of all single trials (ddof=1) and
    :math:`\sigma^2_{noise}` the mean over stimuli of the across-repeat variance (ddof=1).

    Parameters
    ----------
    repeats : (stimulus, repeat, unit) single trials, NaN-padded
    """
    r = check_repeats(repeats)
    total, noise = _variances(r)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total > 0, (total - noise) / total, np.nan)


def feve(repeats, y_pred) -> np.ndarray:
    r"""Fraction of explainable variance explained per unit (neuralpredictors ``fev``).

    :math:`FEVE = 1 - (MSE - \sigma^2_{noise}) / (\mathrm{Var}_{total} - \sigma^2_{noise})`, with
    MSE the mean squared error over all single trials, and the variances as in :func:`fev`. A
    model that predicts every stimulus's true mean rate scores 1 in expectation; the estimate is
    noisy for units with little explainable variance.

    FEVE > 0 exactly when the single-trial MSE is below the single-trial variance, while :func:`r2`
    on repeat averages is > 0 when the error on the averages is below their variance; weighted by
    repeat counts and with the noise removed, the two can differ in sign near zero.

    Parameters
    ----------
    repeats : (stimulus, repeat, unit) single trials, NaN-padded
    y_pred : (stimulus, unit) predictions (broadcast over repeats), or (stimulus, repeat, unit)
    """
    r = check_repeats(repeats)
    p = _trial_predictions(r, y_pred)
    total, noise = _variances(r)
    mse = np.nanmean(((r - p) ** 2).reshape((-1,) + r.shape[2:]), axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total - noise > 0, 1.0 - (mse - noise) / (total - noise), np.nan)


def correlation_to_average(repeats, y_pred) -> np.ndarray:
    """Pearson r between predictions and the repeat-averaged responses (Sensorium's name for it)."""
    r = check_repeats(repeats, min_repeats=1)
    return pearson(np.nanmean(r, axis=1), y_pred)


def single_trial_correlation(repeats, y_pred) -> np.ndarray:
    """Pearson r over all single trials, predictions repeated for each trial of a stimulus."""
    r = check_repeats(repeats, min_repeats=1)
    p = np.where(np.isfinite(r), _trial_predictions(r, y_pred), np.nan)
    a = r - np.nanmean(r, axis=(0, 1))
    b = p - np.nanmean(p, axis=(0, 1))
    denom = np.sqrt(np.nansum(a**2, axis=(0, 1)) * np.nansum(b**2, axis=(0, 1)))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denom > 0, np.nansum(a * b, axis=(0, 1)) / denom, np.nan)


def ceiling_normalized(score, ceiling, convention: str = "r2_over_ceiling") -> np.ndarray:
    r"""Score divided by its noise ceiling, per unit: signed, and bounded to [-1, 1].

    Conventions (name the one a number uses):

    - ``"r2_over_ceiling"``: :math:`\mathrm{sign}(r)\,r^2/\rho` with :math:`\rho` the
      Spearman-Brown-corrected split-half reliability of the averaged responses: the fraction of the
      explainable variance of the averaged responses that the model explains. Brain-Score's ceiled
      score since 2026.
    - ``"r_over_sqrt_ceiling"``: :math:`r/\sqrt{\rho}` (correlation relative to the best a
      noise-free model could reach).
    - ``"legacy_brainscore"``: :math:`\mathrm{sign}(r)\,(r/\rho)^2`, Brain-Score's ceiled score before 2026.

    Every convention keeps the sign of r (an anti-correlated prediction is never a good score) and
    is capped at 1 in magnitude, as Brain-Score's ``ceiling_normalize`` caps a score above its
    ceiling at 1 (an estimate of the ceiling below the model's score is noise in the ceiling).
    Units whose ceiling is not positive give NaN (and are counted out of medians).

    Parameters
    ----------
    score : array, shape (unit,)
        Pearson r per unit.
    ceiling : array, shape (unit,)
        Split-half reliability per unit (:func:`split_half_reliability`).
    convention : {"r2_over_ceiling", "r_over_sqrt_ceiling", "legacy_brainscore"}

    Returns
    -------
    array, shape (unit,), in [-1, 1] or NaN
    """
    s = np.asarray(score, dtype=np.float64)
    c = np.asarray(ceiling, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        c = np.where(c > 0, c, np.nan)
        if convention == "r2_over_ceiling":
            return np.clip(np.sign(s) * s**2 / c, -1.0, 1.0)
        if convention == "r_over_sqrt_ceiling":
            return np.clip(s / np.sqrt(c), -1.0, 1.0)
        if convention == "legacy_brainscore":
            return np.clip(np.sign(s) * (s / c) ** 2, -1.0, 1.0)
    raise ValueError(f"unknown convention {convention!r}")


def recorded_groups(y: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(rows, units)`` for every pattern of finite rows that a group of columns of ``y``
    (samples, units) shares, in the order of each group's first unit; ``rows`` is a boolean mask.

    Units pooled from several sessions are recorded on their session's stimuli only (NaN elsewhere):
    the units of one session form one group."""
    finite = np.isfinite(np.asarray(y))
    patterns, first, inverse = np.unique(finite.T, axis=0, return_index=True, return_inverse=True)
    inverse = np.asarray(inverse).ravel()
    return [(patterns[g], np.flatnonzero(inverse == g)) for g in np.argsort(first)]


def on_recorded(fn, y: np.ndarray, *paired: np.ndarray, min_rows: int = 2) -> np.ndarray:
    """A per-unit metric ``fn(y, *paired)`` computed for each unit over the rows where its ``y`` is
    finite (one call per group of :func:`recorded_groups`); NaN for units with fewer than
    ``min_rows`` such rows. ``y`` and each of ``paired`` are (samples, units)."""
    y = np.asarray(y)
    if np.isfinite(y).all():
        return fn(y, *paired)
    out = np.full(y.shape[1], np.nan)
    for rows, units in recorded_groups(y):
        if rows.sum() >= min_rows:
            out[units] = fn(y[rows][:, units], *(np.asarray(p)[rows][:, units] for p in paired))
    return out
