r"""Ridge regression solvers: pure functions over torch tensors.

Every function solves, for each target :math:`t` with its own penalty :math:`\alpha_t`,

.. math::

    \hat w_t = \arg\min_w \lVert y_t - X w \rVert^2 + \alpha_t \lVert w \rVert^2
             = (X^\top X + \alpha_t I)^{-1} X^\top y_t ,

after centring (``fit_intercept``) and optionally scaling (``standardize``) the columns of ``X``
with statistics of the rows being fitted.

One eigendecomposition serves every alpha. In the *primal* form (features <= samples)
:math:`X^\top X = V \Lambda V^\top` and :math:`\hat W(\alpha) = V (\Lambda + \alpha)^{-1} V^\top
X^\top Y`; in the *dual* form (features > samples) :math:`X X^\top = U \Lambda U^\top` and
:math:`\hat W(\alpha) = X^\top U (\Lambda + \alpha)^{-1} U^\top Y`. Predictions on held-out rows
:math:`X_v` are then :math:`A\,\mathrm{diag}(1/(\lambda + \alpha))\,Z` with
:math:`A = X_v V,\ Z = V^\top X^\top Y` (primal) or :math:`A = X_v X^\top U,\ Z = U^\top Y`
(dual): scoring a new alpha costs one (n_val x k) @ (k x n_targets) product, not a new solve.

Shapes: ``X`` (n_samples, n_features), ``Y`` (n_samples, n_targets), ``alphas`` (n_alphas,).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import torch

SCORINGS = ("r2", "pearson", "neg_mse")


@dataclass
class Preprocessing:
    """Column statistics of the rows a solve was fitted on (``scale`` is 1 when not standardising)."""

    x_mean: torch.Tensor
    x_scale: torch.Tensor
    y_mean: torch.Tensor

    def apply(self, X: torch.Tensor) -> torch.Tensor:
        return (X - self.x_mean) / self.x_scale


def preprocess(X: torch.Tensor, Y: torch.Tensor, fit_intercept: bool, standardize: bool) -> Preprocessing:
    """Centring / scaling statistics of ``X`` and ``Y`` (zeros and ones when not used)."""
    p, t = X.shape[1], Y.shape[1]
    x_mean = X.mean(0) if fit_intercept else X.new_zeros(p)
    y_mean = Y.mean(0) if fit_intercept else Y.new_zeros(t)
    if standardize:
        scale = X.std(0, unbiased=False)
        scale = torch.where(scale > 0, scale, torch.ones_like(scale))  # constant columns stay 0
    else:
        scale = X.new_ones(p)
    return Preprocessing(x_mean, scale, y_mean)


def use_dual(n_samples: int, n_features: int, solver: str) -> bool:
    """Whether to decompose the kernel (n x n) rather than the covariance (p x p)."""
    if solver == "auto":
        return n_features > n_samples
    if solver in ("primal", "dual"):
        return solver == "dual"
    raise ValueError(f"solver must be 'auto', 'primal' or 'dual', got {solver!r}")


def eigh_gram(X: torch.Tensor, dual: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Eigendecomposition of ``X.T @ X`` (primal) or ``X @ X.T`` (dual).

    Returns eigenvalues (k,) clipped at 0 and eigenvectors (p or n, k), in ``X``'s dtype. If the
    decomposition fails or is not finite in that dtype (float32 on an ill-conditioned problem), it
    is redone in float64.
    """
    gram = X @ X.T if dual else X.T @ X
    try:
        evals, evecs = torch.linalg.eigh(gram)
        ok = bool(torch.isfinite(evals).all())
    except RuntimeError:  # torch.linalg.LinAlgError subclasses RuntimeError
        ok = False
    if not ok:
        evals, evecs = torch.linalg.eigh(gram.double())
        evals, evecs = evals.to(X.dtype), evecs.to(X.dtype)
    return evals.clamp_min(0), evecs


def _score(Y: torch.Tensor, pred: torch.Tensor, scoring: str) -> torch.Tensor:
    """Per-column score of ``pred`` against ``Y`` (higher is better)."""
    if scoring == "r2":
        ss_res = ((Y - pred) ** 2).sum(0)
        ss_tot = ((Y - Y.mean(0)) ** 2).sum(0)
        return 1.0 - ss_res / ss_tot.clamp_min(torch.finfo(Y.dtype).tiny)
    if scoring == "pearson":
        yc = Y - Y.mean(0)
        pc = pred - pred.mean(0)
        denom = (yc.norm(dim=0) * pc.norm(dim=0)).clamp_min(torch.finfo(Y.dtype).tiny)
        return (yc * pc).sum(0) / denom
    if scoring == "neg_mse":
        return -((Y - pred) ** 2).mean(0)
    raise ValueError(f"scoring must be one of {SCORINGS}, got {scoring!r}")


def _chunks(n: int, size: int | None) -> Iterable[slice]:
    size = n if not size or size <= 0 else size
    for start in range(0, n, size):
        yield slice(start, min(n, start + size))


def cv_scores(
    X: torch.Tensor,
    Y: torch.Tensor,
    alphas: torch.Tensor,
    folds: Sequence[tuple[torch.Tensor, torch.Tensor]],
    *,
    scoring: str = "r2",
    fit_intercept: bool = True,
    standardize: bool = False,
    solver: str = "auto",
    chunk_size: int | None = None,
    on_fold: Callable[[int], None] | None = None,
) -> torch.Tensor:
    """Cross-validated score of every alpha for every target.

    For each fold: preprocess with the training rows' statistics, decompose once, then score all
    alphas on the validation rows. Scores are averaged over folds.

    Parameters
    ----------
    X : (n_samples, n_features)
    Y : (n_samples, n_targets)
    alphas : (n_alphas,), all > 0
    folds : sequence of (train_index, val_index) integer tensors
    scoring : "r2" (1 - SSE/SST on the fold), "pearson" or "neg_mse"
    chunk_size : targets per block of the per-alpha products (bounds memory to
        n_val x chunk_size per alpha); all at once by default.
    on_fold : called with the fold number after each fold (progress reporting)

    Returns
    -------
    scores : (n_alphas, n_targets) tensor, mean over folds
    """
    n_alphas, n_targets = len(alphas), Y.shape[1]
    total = X.new_zeros((n_alphas, n_targets))
    for i, (train, val) in enumerate(folds):
        Xtr, Ytr, Xv, Yv = X[train], Y[train], X[val], Y[val]
        prep = preprocess(Xtr, Ytr, fit_intercept, standardize)
        Xtr, Xv = prep.apply(Xtr), prep.apply(Xv)
        dual = use_dual(*Xtr.shape, solver)
        evals, evecs = eigh_gram(Xtr, dual)
        A = (Xv @ Xtr.T) @ evecs if dual else Xv @ evecs
        for block in _chunks(n_targets, chunk_size):
            Yc = Ytr[:, block] - prep.y_mean[block]
            Z = evecs.T @ Yc if dual else evecs.T @ (Xtr.T @ Yc)
            for j, alpha in enumerate(alphas):
                pred = A @ (Z / (evals + alpha)[:, None]) + prep.y_mean[block]
                total[j, block] += _score(Yv[:, block], pred, scoring)
        if on_fold is not None:
            on_fold(i)
    return total / len(folds)


def fit_coefficients(
    X: torch.Tensor,
    Y: torch.Tensor,
    alpha: torch.Tensor,
    *,
    fit_intercept: bool = True,
    standardize: bool = False,
    solver: str = "auto",
    chunk_size: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Ridge weights with one alpha per target, from a single decomposition.

    Parameters
    ----------
    X : (n_samples, n_features)
    Y : (n_samples, n_targets)
    alpha : (n_targets,) penalty of each target

    Returns
    -------
    coef : (n_features, n_targets), in the units of the raw (unscaled) ``X``
    intercept : (n_targets,)
    """
    prep = preprocess(X, Y, fit_intercept, standardize)
    Xs = prep.apply(X)
    dual = use_dual(*Xs.shape, solver)
    evals, evecs = eigh_gram(Xs, dual)
    coef = X.new_empty((X.shape[1], Y.shape[1]))
    for block in _chunks(Y.shape[1], chunk_size):
        Yc = Y[:, block] - prep.y_mean[block]
        Z = evecs.T @ Yc if dual else evecs.T @ (Xs.T @ Yc)
        G = Z / (evals[:, None] + alpha[block][None, :])
        coef[:, block] = Xs.T @ (evecs @ G) if dual else evecs @ G
    coef = coef / prep.x_scale[:, None]
    intercept = prep.y_mean - prep.x_mean @ coef
    return coef, intercept
