"""Confidence intervals of one model's headline score, by resampling stimuli (or trials) within each
recording: the interval reflects which images happened to be in the test set, not unit sampling,
and units of one recording share its resampled images (they are not independent evidence).
"""

from __future__ import annotations

import numpy as np

from cortexkit import metrics
from cortexkit.errors import ConfigError, DataError
from cortexkit.evaluation.paired import CONFIDENCE, N_BOOTSTRAP, columnwise_r


def _percentiles(draws: np.ndarray, confidence: float) -> tuple[float, float]:
    if not 0 < confidence < 1:
        raise ConfigError(f"confidence must be in (0, 1), got {confidence}")
    tail = 100 * (1 - confidence) / 2
    with np.errstate(all="ignore"):
        lo, hi = np.nanpercentile(draws, [tail, 100 - tail])
    return float(lo), float(hi)


def median_r_interval(recordings: list[tuple[np.ndarray, np.ndarray]], *, ceilings: list[np.ndarray] | None = None,
                      confidence: float = CONFIDENCE, n_bootstrap: int = N_BOOTSTRAP, seed: int = 0) -> dict:
    """Median over units (pooled over recordings) of Pearson r, with a stimulus-bootstrap interval.

    Parameters
    ----------
    recordings : list of (target, prediction)
        Per recording, arrays of shape (stimulus, unit): the repeat-averaged test responses (or the
        true rates of a simulation) and a model's predictions, rows paired.
    ceilings : list of arrays (unit,), optional
        Per recording, each unit's noise ceiling (of r², NaN where none): the ceiling-normalised
        score r²/ceiling (:func:`cortexkit.metrics.ceiling_normalized`) gets its median and interval
        from the same draws; units without a ceiling are left out of it.
    confidence, n_bootstrap, seed :
        Interval level, draws (each draw resamples the stimuli of every recording) and seed.

    Returns
    -------
    dict
        ``median``, ``ci_low``, ``ci_high``, ``n_units`` (units with a defined r); with ``ceilings``
        also ``normalized``, ``normalized_ci_low``, ``normalized_ci_high``.
    """
    if not recordings:
        raise ConfigError("no recordings to score")
    if n_bootstrap < 1:
        raise ConfigError(f"n_bootstrap must be >= 1, got {n_bootstrap}")
    rng = np.random.default_rng(seed)
    observed, boot = [], []
    for k, (y, p) in enumerate(recordings):
        y, p = np.asarray(y, dtype=np.float64), np.asarray(p, dtype=np.float64)
        if y.ndim != 2 or y.shape != p.shape:
            raise DataError(f"recording {k}: target {y.shape} and prediction {p.shape} must both be (stimulus, unit)",
                            variable="prediction")
        observed.append(columnwise_r(y, p))
        draws = rng.integers(0, len(y), size=(n_bootstrap, len(y)))
        block = max(1, int(2e7 // max(1, y.size)))
        parts = [columnwise_r(y[draws[a:a + block]], p[draws[a:a + block]]) for a in range(0, n_bootstrap, block)]
        boot.append(np.concatenate(parts))  # (draw, unit)
    r, draws = np.concatenate(observed), np.concatenate(boot, axis=1)
    with np.errstate(all="ignore"):
        medians = np.nanmedian(draws, axis=1)
    lo, hi = _percentiles(medians, confidence)
    out = {"median": _nanmedian(r), "ci_low": lo, "ci_high": hi, "n_units": int(np.isfinite(r).sum())}
    if ceilings is not None:
        c = np.concatenate([np.asarray(x, dtype=np.float64).ravel() for x in ceilings])
        if c.shape != r.shape:
            raise DataError(f"has {c.size} values for {r.size} units", variable="ceilings")
        nan = float("nan")
        out.update(normalized=nan, normalized_ci_low=nan, normalized_ci_high=nan)
        if (c > 0).any():  # some unit has a ceiling
            keep = c > 0
            with np.errstate(all="ignore"):
                normalized = np.nanmedian(metrics.ceiling_normalized(draws[:, keep], c[None, keep]), axis=1)
            out["normalized"] = _nanmedian(metrics.ceiling_normalized(r, c))
            out["normalized_ci_low"], out["normalized_ci_high"] = _percentiles(normalized, confidence)
    return out


def _nanmedian(v: np.ndarray) -> float:
    return float(np.nanmedian(v)) if np.isfinite(v).any() else float("nan")


def mean_interval(recordings: list[np.ndarray], *, confidence: float = CONFIDENCE, n_bootstrap: int = N_BOOTSTRAP,
                  seed: int = 0) -> dict:
    """Mean over recordings of each recording's mean item score (a trial's correct decoding, an
    image's identification accuracy), with an interval from resampling items within recordings.

    Returns ``mean``, ``ci_low``, ``ci_high``, ``n_items``.
    """
    if not recordings:
        raise ConfigError("no recordings to score")
    rng = np.random.default_rng(seed)
    means, boot, n_items = [], [], 0
    for k, v in enumerate(recordings):
        v = np.asarray(v, dtype=np.float64)
        v = v[np.isfinite(v)]
        if v.ndim != 1 or not len(v):
            raise DataError(f"recording {k}: needs a 1-D array of finite item scores", variable="scores")
        means.append(v.mean())
        n_items += len(v)
        boot.append(v[rng.integers(0, len(v), size=(n_bootstrap, len(v)))].mean(1))
    lo, hi = _percentiles(np.mean(boot, axis=0), confidence)
    return {"mean": float(np.mean(means)), "ci_low": lo, "ci_high": hi, "n_items": n_items}
