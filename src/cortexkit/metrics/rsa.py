"""Comparing representations: RDMs, RSA and linear CKA (numpy only).

Inputs are (n_stimuli, n_features) matrices over the same stimuli in the same order: model
features or neural responses (repeat-averaged, stimuli x units).
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata

from cortexkit.errors import ConfigError, DataError


def _matrix(x, name: str) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] < 3:
        raise DataError(f"expected (n_stimuli >= 3, n_features), got shape {a.shape}", variable=name)
    if not np.isfinite(a).all():
        raise DataError("contains NaN or inf", variable=name)
    return a


def rdm(x, metric: str = "correlation") -> np.ndarray:
    """Representational dissimilarity matrix (n_stimuli, n_stimuli).

    ``"correlation"``: 1 - Pearson r between the stimuli's patterns (Kriegeskorte et al. 2008);
    ``"euclidean"``: Euclidean distance.
    """
    a = _matrix(x, "x")
    if metric == "correlation":
        c = a - a.mean(1, keepdims=True)
        norm = np.linalg.norm(c, axis=1)
        c = c / np.where(norm > 0, norm, 1.0)[:, None]
        out = 1.0 - c @ c.T
    elif metric == "euclidean":
        sq = (a**2).sum(1)
        out = np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2 * a @ a.T, 0.0))
    else:
        raise ValueError(f"metric must be 'correlation' or 'euclidean', got {metric!r}")
    np.fill_diagonal(out, 0.0)  # exactly, not up to round-off
    return out


def rsa(rdm_a, rdm_b, method: str = "spearman") -> float:
    """Correlation of the upper triangles (off-diagonal) of two RDMs; Spearman by default.

    Parameters
    ----------
    rdm_a, rdm_b : arrays, shape (stimulus, stimulus)
    method : {"spearman", "pearson"}

    Returns
    -------
    float
    """
    a, b = np.asarray(rdm_a, dtype=np.float64), np.asarray(rdm_b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise DataError(f"RDMs must be square and equal in shape, got {a.shape} and {b.shape}", variable="rdm")
    iu = np.triu_indices(a.shape[0], k=1)
    u, v = a[iu], b[iu]
    if method == "spearman":
        u, v = rankdata(u), rankdata(v)
    elif method != "pearson":
        raise ValueError(f"method must be 'spearman' or 'pearson', got {method!r}")
    return float(np.corrcoef(u, v)[0, 1])


def linear_cka(x, y) -> float:
    r"""Linear centred kernel alignment (Kornblith et al. 2019).

    :math:`CKA = \lVert Y_c^\top X_c \rVert_F^2 / (\lVert X_c^\top X_c \rVert_F \lVert Y_c^\top Y_c \rVert_F)`
    with column-centred :math:`X_c, Y_c`; invariant to orthogonal transforms and isotropic scaling
    of either representation, 1 for identical ones. Computed through the n x n Gram matrices, so
    wide feature spaces are cheap.
    """
    a, b = _matrix(x, "x"), _matrix(y, "y")
    if a.shape[0] != b.shape[0]:
        raise DataError(f"x has {a.shape[0]} stimuli but y has {b.shape[0]}", variable="y")
    a = a - a.mean(0)
    b = b - b.mean(0)
    ka, kb = a @ a.T, b @ b.T
    num = (ka * kb).sum()
    den = np.sqrt((ka * ka).sum() * (kb * kb).sum())
    return float(num / den) if den > 0 else float("nan")


def compare_representations(spaces: dict[str, np.ndarray], method: str = "cka") -> np.ndarray:
    """Symmetric (n_spaces, n_spaces) matrix of linear CKA (``method="cka"``) or RSA (``"rsa"``:
    Spearman correlation of correlation-distance RDMs) between every pair."""
    if method not in ("cka", "rsa"):
        raise ConfigError(f"method must be 'cka' or 'rsa', got {method!r}")
    names = list(spaces)
    out = np.eye(len(names))
    rdms = {k: rdm(v) for k, v in spaces.items()} if method == "rsa" else None
    for i, a in enumerate(names):
        for j in range(i + 1, len(names)):
            b = names[j]
            value = linear_cka(spaces[a], spaces[b]) if method == "cka" else rsa(rdms[a], rdms[b])
            out[i, j] = out[j, i] = value
    return out
