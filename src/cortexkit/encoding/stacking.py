"""Stacked regression over encoding models (Breiman 1996; for voxels, Lin et al. 2024): each unit's
prediction is a convex combination of several models' predictions, with weights fitted to the
models' out-of-fold predictions on the training stimuli, so the choice never sees the test set.

Out-of-fold ridge predictions reuse each model's own per-unit alpha (chosen by its cross-validation)
and are computed in kernel form: one eigendecomposition of the fold's Gram matrix serves every unit.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import nnls

from cortexkit.errors import DataError


def kfold_indices(n: int, n_folds: int, seed: int = 0) -> list[np.ndarray]:
    """Seeded, shuffled K-fold validation indices (sorted within each fold)."""
    if not 2 <= n_folds <= n:
        raise DataError(f"cannot split {n} samples into {n_folds} folds", variable="cv")
    order = np.random.default_rng(seed).permutation(n)
    return [np.sort(f) for f in np.array_split(order, n_folds)]


def ridge_oof_predictions(x, y, alpha, folds: list[np.ndarray]) -> np.ndarray:
    """Out-of-fold predictions of ridge regression with an intercept and one alpha per target.

    Parameters
    ----------
    x : array (sample, feature)
    y : array (sample, target)
    alpha : array (target,)
    folds : list of index arrays
        Validation samples of each fold (:func:`kfold_indices`).

    Returns
    -------
    array (sample, target)
        Each sample predicted by the model fitted without its fold.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    alpha = np.asarray(alpha, dtype=np.float64)
    if x.shape[0] != y.shape[0] or alpha.shape != (y.shape[1],):
        raise DataError(f"shapes x {x.shape}, y {y.shape}, alpha {alpha.shape} do not match", variable="x")
    out = np.empty_like(y)
    everything = np.arange(len(x))
    # Kernel form (samples < features for image features), one kernel for every fold: a fold's
    # centred Gram matrix and validation cross-products are the kernel re-centred on its training rows.
    xc = x - x.mean(0)
    kernel = xc @ xc.T
    for val in folds:
        fit = np.setdiff1d(everything, val)
        k_ff, k_vf = kernel[np.ix_(fit, fit)], kernel[np.ix_(val, fit)]
        a, b = k_ff.mean(1), k_vf.mean(1)
        g = a.mean()
        y_mean = y[fit].mean(0)
        lam, vecs = np.linalg.eigh(k_ff - a[:, None] - a[None, :] + g)
        lam = np.clip(lam, 0.0, None)
        dual = vecs @ ((vecs.T @ (y[fit] - y_mean)) / (lam[:, None] + alpha[None, :]))
        out[val] = (k_vf - b[:, None] - a[None, :] + g) @ dual + y_mean
    return out


def stack_weights(predictions, y, penalty: float = 1e3) -> np.ndarray:
    """Per-target convex weights (>= 0, summing to 1) of several models' predictions.

    Parameters
    ----------
    predictions : array (sample, target, model)
        Out-of-fold predictions of each model.
    y : array (sample, target)

    Returns
    -------
    array (target, model)
        Least-squares weights on the simplex (non-negative least squares with the sum-to-one
        constraint as a heavily weighted extra row).
    """
    p = np.asarray(predictions, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if p.ndim != 3 or p.shape[:2] != y.shape:
        raise DataError(f"shape {p.shape} does not match targets {y.shape}", variable="predictions")
    n_models = p.shape[2]
    weights = np.empty((y.shape[1], n_models))
    scale = penalty * max(float(np.abs(y).max()), 1.0)
    for t in range(y.shape[1]):
        a = np.vstack([p[:, t, :], np.full((1, n_models), scale)])
        b = np.concatenate([y[:, t], [scale]])
        if not np.isfinite(a).all() or not np.isfinite(b).all():
            weights[t] = 1.0 / n_models
            continue
        w, _ = nnls(a, b)
        weights[t] = w / w.sum() if w.sum() > 0 else 1.0 / n_models
    return weights


def stacked_prediction(predictions, weights) -> np.ndarray:
    """Combine (sample, target, model) predictions with (target, model) weights."""
    return np.einsum("ntm,tm->nt", np.asarray(predictions, dtype=np.float64), np.asarray(weights, dtype=np.float64))
