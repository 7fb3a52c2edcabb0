"""Which units does a model explain: per-unit permutation p-values and Benjamini-Hochberg q-values.

The null of a unit's test correlation is drawn by shuffling which test stimulus each prediction
belongs to (the responses keep their stimuli): a model that predicts nothing of the unit scores as
well under every shuffle. With ``n`` permutations the p-value is ``(1 + #{null >= observed}) /
(1 + n)`` (Phipson & Smyth 2010), so the smallest p it can give is ``1 / (1 + n)``. Every unit sees
the same shuffles, which keeps the units' dependence intact for the FDR procedure.
"""

from __future__ import annotations

import numpy as np

from cortexkit.metrics.encoding import recorded_groups

BATCH = 64  # most permutations scored together
BATCH_BYTES = 256 * 2**20  # and at most this much memory for their shuffled predictions


def _standardized(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    centred = a - a.mean(axis=0)
    norm = np.sqrt((centred**2).sum(axis=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        return centred / np.where(norm > 0, norm, np.nan)


def _permutation_p(y: np.ndarray, pred: np.ndarray, n_permutations: int, rng: np.random.Generator) -> np.ndarray:
    zy, zp = _standardized(y), _standardized(pred)
    observed = (zy * zp).sum(axis=0)
    exceed = np.zeros(y.shape[1])
    done = 0
    while done < n_permutations:
        k = max(1, min(BATCH, n_permutations - done, BATCH_BYTES // max(1, zp.size * 8)))
        perms = np.stack([rng.permutation(len(y)) for _ in range(k)])
        null = np.einsum("su,ksu->ku", zy, zp[perms])
        exceed += (null >= observed - 1e-12).sum(axis=0)
        done += k
    p = (1.0 + exceed) / (1.0 + n_permutations)
    p[~np.isfinite(observed)] = np.nan
    return p


def permutation_p(y_true: np.ndarray, y_pred: np.ndarray, n_permutations: int = 1000, seed: int = 0) -> np.ndarray:
    """One-sided permutation p-value of each unit's Pearson r between ``y_true`` and ``y_pred``.

    Parameters
    ----------
    y_true, y_pred : array, shape (stimulus, unit)
        Measured (repeat-averaged) and predicted test responses. A unit with NaN responses is tested
        on the stimuli it was recorded on (its NaN rows left out, shuffles within the rest).
    n_permutations : int
        Shuffles of the stimuli; the smallest p-value is ``1 / (1 + n_permutations)``.
    seed : int

    Returns
    -------
    array, shape (unit,)
        NaN where r is undefined (constant prediction or responses, fewer than 3 stimuli).
    """
    y_true, y_pred = np.asarray(y_true, dtype=np.float64), np.asarray(y_pred, dtype=np.float64)
    if y_true.shape != y_pred.shape or y_true.ndim != 2:
        raise ValueError(f"y_true and y_pred must be (stimulus, unit) arrays of one shape, got {y_true.shape} and {y_pred.shape}")
    rng = np.random.default_rng(seed)
    out = np.full(y_true.shape[1], np.nan)
    for rows, units in recorded_groups(np.where(np.isfinite(y_pred), y_true, np.nan)):
        if rows.sum() >= 3:
            out[units] = _permutation_p(y_true[rows][:, units], y_pred[rows][:, units], int(n_permutations), rng)
    return out


def fdr_bh(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values) over the finite entries of ``p``; NaN stays NaN.

    A unit with q < 0.05 is a discovery at a false discovery rate of 5% (valid for independent or
    positively dependent tests)."""
    p = np.asarray(p, dtype=np.float64)
    q = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    m = int(ok.sum())
    if m == 0:
        return q
    values = p[ok]
    order = np.argsort(values)
    ranked = values[order] * m / np.arange(1, m + 1)
    adjusted = np.minimum.accumulate(ranked[::-1])[::-1]
    result = np.empty(m)
    result[order] = np.minimum(adjusted, 1.0)
    q[ok] = result
    return q
