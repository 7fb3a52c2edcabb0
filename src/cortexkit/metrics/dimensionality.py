"""The effective dimensionality of a representation (pure numpy)."""

from __future__ import annotations

import numpy as np

from cortexkit.errors import DataError


def effective_dimensionality(features, standardize: bool = False) -> float:
    r"""Participation ratio of the feature covariance's eigenvalues,
    :math:`ED = (\sum_i \lambda_i)^2 / \sum_i \lambda_i^2` (Elmoznino & Bonner's measure of a
    representation's latent dimensionality; 1 for one direction, the number of features for an
    isotropic cloud). Computed from the smaller of the (sample x sample) and (feature x feature)
    Gram matrices of the centred features (they share their non-zero eigenvalues), so a wide layer
    costs n² per feature. ``features``: (n_samples, n_features). ``standardize`` z-scores each
    feature first (the eigenvalues of the correlation matrix), so that a few high-variance features
    (a common activation level, as in rectified random layers) do not hide the others; constant
    features are left out.
    """
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2 or len(x) < 2:
        raise DataError(f"needs (samples >= 2, features), got shape {x.shape}", variable="features")
    if not np.isfinite(x).all():
        raise DataError("has NaN or infinite values", variable="features")
    x = x - x.mean(0)
    if standardize:
        sd = x.std(0)
        x = x[:, sd > 0] / sd[sd > 0]
    gram = x @ x.T if x.shape[0] <= x.shape[1] else x.T @ x
    # trace(G) = sum of eigenvalues, ||G||_F^2 = sum of their squares: no eigendecomposition needed
    total = np.trace(gram)
    return float(total**2 / np.sum(gram * gram)) if total > 0 else 0.0
