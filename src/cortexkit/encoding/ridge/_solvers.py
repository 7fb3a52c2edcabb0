r"""Ridge regression solvers: pure functions over torch tensors.

Every function solves, for each target :math:`t` with its own penalty :math:`\alpha_t`,

.. math::

    \hat w_t = \arg\min_w \lVert y_t - X w \rVert^2 + \alpha_t \lVert w \rVert^2
             = (X^\top X + \alpha_t I)^{-1} X^\top y_t ,

after centring (``fit_intercept``) and optionally scaling (``standardize``) the columns of ``X``
with statistics of the rows being fitted.

One eigendecomposition per fold serves every alpha and every target. In the *primal* form
(features <= samples) :math:`X^\top X = V \Lambda V^\top` and :math:`\hat W(\alpha) = V (\Lambda +
\alpha)^{-1} V^\top X^\top Y`; in the *dual* form (features > samples) :math:`X X^\top = U \Lambda
U^\top` and :math:`\hat W(\alpha) = X^\top U (\Lambda + \alpha)^{-1} U^\top Y`. Predictions on
held-out rows :math:`X_v` are :math:`A\,\mathrm{diag}(1/(\lambda + \alpha))\,Z` with
:math:`A = X_v V,\ Z = V^\top X^\top Y` (primal) or :math:`A = X_v X^\top U,\ Z = U^\top Y` (dual),
so a new alpha costs one (n_val x k) @ (k x n_targets) product, done for all alphas of a batch at
once. In the primal form the fold's projected targets come from the full :math:`X^\top Y` rotated
into the fold's eigenbasis minus the validation rows' share, :math:`A^\top Y_v`, which is also the
cross-product the validation scores need (:func:`_fold_projection`).

The work is organised for bounded memory: :func:`decompose_all` computes everything that depends
on ``X`` only (kept for the whole fit), then :func:`fit_target_block` handles one block of targets
(scores of every alpha on every fold, the chosen alphas, the refitted weights). Target blocks are
independent, which is what the chunked and the distributed (Dask) drivers exploit.

Shapes: ``X`` (n_samples, n_features), ``Y`` (n_samples, n_targets), ``alphas`` (n_alphas,).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

SCORINGS = ("r2", "pearson", "neg_mse")


@dataclass
class Decomposition:
    """What a ridge solve on some rows of ``X`` needs, independent of the targets.

    ``rows``: the rows fitted (None = all); ``x_mean`` / ``x_scale``: their column statistics;
    ``evals`` (k,), ``evecs``: (n_features, k) primal or (n_rows, k) dual; ``Xs``: the centred,
    scaled fitted rows (kept for the dual form only).
    """

    rows: torch.Tensor | None
    x_mean: torch.Tensor
    x_scale: torch.Tensor
    evals: torch.Tensor
    evecs: torch.Tensor
    dual: bool
    Xs: torch.Tensor | None = None
    # Without an intercept the targets are not centred either (the prediction is X @ w alone).
    intercept: bool = True


@dataclass
class FoldDecomposition(Decomposition):
    """A decomposition of the training rows of a fold, plus the validation rows' projection ``A``."""

    val: torch.Tensor | None = None
    A: torch.Tensor | None = None  # (n_val, k)
    # A diag(1/(evals + alpha)) for each alpha batch, stacked: (b * n_val, k); see stack_alphas
    stacks: list[torch.Tensor] | None = None
    # precomputed for prediction_norms (float64); see attach_quadratics
    quad: "FoldQuadratic | None" = None


@dataclass
class FoldQuadratic:
    r"""What :func:`prediction_norms` needs of a fold, in float64.

    With :math:`M = A^\top A` and eigenvalues :math:`\lambda`: ``KM`` is
    :math:`M_{ij} / (\lambda_i - \lambda_j)` for eigenvalues that differ (0 elsewhere), ``diag``
    the diagonal of :math:`M`, and ``pairs`` the (i, j, M_ij) of distinct indices whose eigenvalues
    coincide (within 1e-9 of the largest), which behave like diagonal terms.
    """

    KM: torch.Tensor
    diag: torch.Tensor
    pairs: tuple[torch.Tensor, torch.Tensor, torch.Tensor]
    evals: torch.Tensor


def fold_quadratic(f: "FoldDecomposition") -> FoldQuadratic:
    """Precompute the partial-fraction form of a fold's validation-norm quadratic."""
    A = f.A.double()
    M = A.T @ A
    lam = f.evals.double()
    diff = lam[:, None] - lam[None, :]
    same = diff.abs() <= 1e-9 * lam.abs().max().clamp_min(1e-300)
    KM = torch.where(same, torch.zeros_like(M), M / torch.where(same, torch.ones_like(diff), diff))
    off = same & ~torch.eye(len(lam), dtype=torch.bool, device=M.device)
    i, j = torch.nonzero(off, as_tuple=True)
    return FoldQuadratic(KM, torch.diagonal(M).clone(), (i, j, M[i, j]), lam)


def prediction_norms(q: FoldQuadratic, Z: torch.Tensor, alphas: torch.Tensor) -> torch.Tensor:
    r"""Squared norms :math:`\lVert A\,\mathrm{diag}(d_\alpha) z_t \rVert^2`, shape (b, t).

    :math:`z^\top D M D z = \sum_{ij} z_i z_j M_{ij} d_i d_j`. For :math:`\lambda_i \neq
    \lambda_j`, :math:`d_i d_j = (d_j - d_i)/(\lambda_i - \lambda_j)` (partial fractions of
    :math:`d = 1/(\lambda + \alpha)`), so the off-diagonal part is
    :math:`2 \sum_j d_j z_j w_j` with :math:`w = (KM)^\top z`, one (k x k) product per target for
    all alphas at once, instead of one (n_val x k) product per alpha. The terms of the two sums
    cancel, so :math:`d` is formed in float64 from the eigenvalues and ``alphas`` (b,).
    """
    Z64 = Z.double()
    W = q.KM.T @ Z64  # (k, t)
    linear = 2.0 * Z64 * W
    quadratic = q.diag[:, None] * Z64**2
    i, j, v = q.pairs
    if len(v):
        quadratic.index_add_(0, j, v[:, None] * Z64[i] * Z64[j])
    d64 = 1.0 / (q.evals[:, None] + alphas.double()[None, :])
    return (linear.T @ d64 + quadratic.T @ d64**2).T


def alpha_stack(f: FoldDecomposition, alphas: torch.Tensor) -> torch.Tensor:
    """``A diag(1/(evals + alpha))`` for each alpha, stacked row-wise: (len(alphas) * n_val, k)."""
    d = (1.0 / (f.evals[None, :] + alphas[:, None])).contiguous()  # (b, k)
    return (f.A[None, :, :] * d[:, None, :]).reshape(-1, f.A.shape[1])


def attach_quadratics(folds: list["FoldDecomposition"]) -> None:
    """Precompute every fold's :class:`FoldQuadratic` (used instead of alpha stacks)."""
    for f in folds:
        f.quad = fold_quadratic(f)


def stack_alphas(folds: list[FoldDecomposition], alphas: torch.Tensor, batch: int) -> None:
    """Precompute every fold's alpha stacks once per fit (they do not depend on the targets)."""
    for f in folds:
        f.stacks = [alpha_stack(f, alphas[a : a + batch]) for a in range(0, len(alphas), batch)]


def use_dual(n_samples: int, n_features: int, solver: str) -> bool:
    """Whether to decompose the kernel (n x n) rather than the covariance (p x p)."""
    if solver == "auto":
        return n_features > n_samples
    if solver in ("primal", "dual"):
        return solver == "dual"
    raise ValueError(f"solver must be 'auto', 'primal' or 'dual', got {solver!r}")


def eigh_gram(Xs: torch.Tensor, dual: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Eigendecomposition of ``Xs.T @ Xs`` (primal) or ``Xs @ Xs.T`` (dual); see :func:`eigh_psd`."""
    return eigh_psd(Xs @ Xs.T if dual else Xs.T @ Xs)


def eigh_psd(gram: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Eigenvalues (k,) clipped at 0 and eigenvectors of a Gram matrix, in its dtype. A decomposition
    that fails or is not finite in float32 (an ill-conditioned problem) is redone in float64."""
    try:
        evals, evecs = torch.linalg.eigh(gram)
        ok = bool(torch.isfinite(evals).all()) and bool(torch.isfinite(evecs).all())
    except RuntimeError:  # torch.linalg.LinAlgError subclasses RuntimeError
        ok = False
    if not ok:
        evals, evecs = torch.linalg.eigh(gram.double())
        evals, evecs = evals.to(gram.dtype), evecs.to(gram.dtype)
    return evals.clamp_min(0), evecs


def _column_stats(X: torch.Tensor, fit_intercept: bool, standardize: bool):
    p = X.shape[1]
    mean = X.mean(0) if fit_intercept else X.new_zeros(p)
    if standardize:
        scale = X.std(0, unbiased=False)
        scale = torch.where(scale > 0, scale, torch.ones_like(scale))  # constant columns stay 0
    else:
        scale = X.new_ones(p)
    return mean, scale


def decompose(X: torch.Tensor, rows: torch.Tensor | None, *, fit_intercept: bool, standardize: bool,
              solver: str) -> Decomposition:
    """Decompose the (centred, scaled) rows ``rows`` of ``X`` (all rows when None)."""
    Xr = X if rows is None else X[rows]
    mean, scale = _column_stats(Xr, fit_intercept, standardize)
    Xs = (Xr - mean) / scale
    dual = use_dual(*Xs.shape, solver)
    evals, evecs = eigh_gram(Xs, dual)
    return Decomposition(rows, mean, scale, evals, evecs, dual, Xs if dual else None, intercept=fit_intercept)


def decompose_folds(X: torch.Tensor, folds, *, fit_intercept: bool = True, standardize: bool = False,
                    solver: str = "auto") -> list[FoldDecomposition]:
    """One :class:`FoldDecomposition` per (train, val) pair of integer index tensors."""
    out = []
    for train, val in folds:
        d = decompose(X, train, fit_intercept=fit_intercept, standardize=standardize, solver=solver)
        Xv = (X[val] - d.x_mean) / d.x_scale
        A = (Xv @ d.Xs.T) @ d.evecs if d.dual else Xv @ d.evecs
        out.append(FoldDecomposition(**vars(d), val=val, A=A))
    return out


def decompose_all(X: torch.Tensor, folds, *, fit_intercept: bool = True, standardize: bool = False,
                  solver: str = "auto") -> tuple[list[FoldDecomposition], Decomposition]:
    r"""The fold decompositions and the decomposition of all rows.

    When every one of them is dual (more features than samples) and the columns are not
    standardised, they all come from one kernel :math:`K = X_c X_c^\top` of the centred rows: a
    fold's centred Gram matrix is :math:`H K_{rr} H` (:math:`H` centres on the fold's training rows)
    and its validation cross-products :math:`(K_{vr} - 1 \bar k_r^\top) H` likewise, so the
    n x n x p product is done once instead of once per fold, and no fold keeps a copy of its rows.
    """
    n, p = X.shape
    n_train = min((len(tr) for tr, _ in folds), default=n)
    if standardize or not (use_dual(n, p, solver) and use_dual(n_train, p, solver)):
        options = dict(fit_intercept=fit_intercept, standardize=standardize, solver=solver)
        return decompose_folds(X, folds, **options), decompose(X, None, **options)
    mean = X.mean(0) if fit_intercept else X.new_zeros(p)
    Xc = X - mean  # centred first, so that the folds' re-centring below cancels little
    K = Xc @ Xc.T
    ones = X.new_ones(p)
    out = []
    for train, val in folds:
        K_rr, K_vr = K[train][:, train], K[val][:, train]
        if fit_intercept:
            a, b = K_rr.mean(1), K_vr.mean(1)
            g = a.mean()
            gram = K_rr - a[:, None] - a[None, :] + g
            cross = K_vr - b[:, None] - a[None, :] + g
            x_mean = mean + (Xc.sum(0) - Xc[val].sum(0)) / len(train)
        else:
            gram, cross, x_mean = K_rr, K_vr, mean
        evals, evecs = eigh_psd(gram)
        out.append(FoldDecomposition(train, x_mean, ones, evals, evecs, True, None, intercept=fit_intercept, val=val,
                                     A=cross @ evecs))
    evals, evecs = eigh_psd(K)
    return out, Decomposition(None, mean, ones, evals, evecs, True, Xc, intercept=fit_intercept)


def _project(d: Decomposition, X: torch.Tensor, Y: torch.Tensor, XtY: torch.Tensor | None):
    """``Z = V^T Xs^T Yc`` (primal) or ``U^T Yc`` (dual) for the decomposition's rows, and the
    targets' mean on those rows.

    ``XtY`` is ``X.T @ Y`` over all rows (primal only): the rows' cross-product is obtained from it
    by subtracting the other rows' share.
    """
    Yr = Y if d.rows is None else Y[d.rows]
    y_mean = Yr.mean(0) if d.intercept else Yr.new_zeros(Yr.shape[1:])
    if d.dual:
        return d.evecs.T @ (Yr - y_mean), y_mean
    if d.rows is None:
        cross = XtY
    else:
        # X_tr^T Y_tr = X^T Y - X_v^T Y_v, with v the rows not fitted (the fold's validation rows).
        val = getattr(d, "val", None)
        cross = XtY - X[val].T @ Y[val]
    n = Yr.shape[0]
    centred = (cross - n * torch.outer(d.x_mean, y_mean)) / d.x_scale[:, None]
    return d.evecs.T @ centred, y_mean


def _fold_projection(f: FoldDecomposition, X: torch.Tensor, Y: torch.Tensor, XtY: torch.Tensor):
    r"""``(Z, y_mean, Yv, B)`` of a primal fold, with one (k x n_val) @ (n_val x t) product for both
    the downdate and the validation cross-products.

    With :math:`V_s = S^{-1} V` (eigenvectors in raw-column units), :math:`m` the training column
    means and :math:`\bar y` the training target means, :math:`A = X_v V_s - 1 (V_s^\top m)^\top`, so
    :math:`G = A^\top Y_v` gives both :math:`Z = V_s^\top X^\top Y - G - (V_s^\top m)(1^\top Y_v
    + n_{tr}\bar y)^\top` (the training rows' :math:`V^\top X_s^\top Y` without forming their
    cross-product) and :math:`B = A^\top (Y_v - \bar y) = G - (A^\top 1)\bar y^\top`.
    """
    Yv = Y[f.val]
    n_tr = Y.shape[0] - Yv.shape[0]
    sum_v = Yv.sum(0)
    y_mean = (Y.sum(0) - sum_v) / n_tr if f.intercept else Y.new_zeros(Y.shape[1:])
    Vs = f.evecs / f.x_scale[:, None]
    vm = Vs.T @ f.x_mean  # (k,)
    G = f.A.T @ Yv  # (k, t)
    Z = Vs.T @ XtY - G - torch.outer(vm, sum_v + n_tr * y_mean)
    B = G - torch.outer(f.A.sum(0), y_mean)
    return Z, y_mean, Yv, B


def _fold_scores(f: FoldDecomposition, Z: torch.Tensor, y_mean: torch.Tensor, Yv: torch.Tensor,
                 alphas: torch.Tensor, scoring: str, batch: int, B: torch.Tensor | None = None) -> torch.Tensor:
    r"""Validation score of every alpha for one fold: (n_alphas, n_targets).

    Predictions are never stored: with :math:`P_\alpha = A\,\mathrm{diag}(d_\alpha) Z` and the
    validation targets centred on the training mean, :math:`Y_c = Y_v - \bar y`,
    :math:`SSE = \lVert Y_c\rVert^2 - 2 \sum_k B_k d_k Z_k + \lVert P_\alpha\rVert^2` with
    :math:`B = A^\top Y_c`; only the column norms of :math:`P_\alpha` need the big product, done for
    a batch of alphas at once by stacking :math:`A\,\mathrm{diag}(d_\alpha)`.
    """
    n_val = Yv.shape[0]
    Yc = Yv - y_mean
    if B is None:
        B = f.A.T @ Yc  # (k, t)
    BZ = B * Z
    yy = (Yc * Yc).sum(0)
    tiny = torch.finfo(Yv.dtype).tiny
    # Targets arrive scaled to unit magnitude (blocks._as_tensor): a validation variance below this
    # is round-off, the target is constant in the fold, and R² or r is undefined there (NaN).
    flat = n_val * (100 * torch.finfo(Yv.dtype).eps) ** 2
    if scoring == "pearson":
        sy = Yc.sum(0)
        aZ = f.A.sum(0)[:, None] * Z  # column sums of the predictions come from A's column sums
        constant = (yy - sy**2 / n_val) <= flat
    elif scoring == "r2":
        sst = ((Yv - Yv.mean(0)) ** 2).sum(0)
        constant = sst <= flat
    out = []
    for i, a in enumerate(range(0, len(alphas), batch)):
        d = 1.0 / (f.evals[:, None] + alphas[None, a : a + batch])  # (k, b)
        if f.quad is not None:
            pp = prediction_norms(f.quad, Z, alphas[a : a + batch]).to(Z.dtype)
        else:
            stacked = f.stacks[i] if f.stacks is not None else alpha_stack(f, alphas[a : a + batch])
            P = (stacked @ Z).reshape(d.shape[1], n_val, -1)  # (b, n_val, t)
            pp = P.square_().sum(1)  # (b, t); in place: P is a temporary
        cross = (BZ.T @ d).T  # (b, t): sum over validation rows of Y_c * P
        if scoring == "pearson":
            sp = (aZ.T @ d).T  # column sums of the predictions
            cov = cross - sy * sp / n_val
            var_p = (pp - sp**2 / n_val).clamp_min(tiny)
            var_y = (yy - sy**2 / n_val).clamp_min(tiny)
            out.append((cov / torch.sqrt(var_p * var_y)).masked_fill(constant, float("nan")))
            continue
        sse = (yy - 2 * cross + pp).clamp_min(0)
        if scoring == "r2":
            out.append((1.0 - sse / sst.clamp_min(tiny)).masked_fill(constant, float("nan")))
        elif scoring == "neg_mse":
            out.append(-sse / n_val)
        else:
            raise ValueError(f"scoring must be one of {SCORINGS}, got {scoring!r}")
    return torch.cat(out)


def cv_scores_block(
    X: torch.Tensor,
    Y: torch.Tensor,
    folds: list[FoldDecomposition],
    alphas: torch.Tensor,
    *,
    scoring: str = "r2",
    alpha_batch: int | None = None,
    XtY: torch.Tensor | None = None,
) -> torch.Tensor:
    """Mean validation score over folds of every alpha for a block of targets: (n_alphas, n_targets)."""
    if XtY is None and any(not f.dual for f in folds):
        XtY = X.T @ Y
    n_alphas = len(alphas)
    batch = n_alphas if not alpha_batch else max(1, min(alpha_batch, n_alphas))
    total = Y.new_zeros((n_alphas, Y.shape[1]))
    for f in folds:
        if f.dual:
            Z, y_mean = _project(f, X, Y, XtY)
            total += _fold_scores(f, Z, y_mean, Y[f.val], alphas, scoring, batch)
        else:
            Z, y_mean, Yv, B = _fold_projection(f, X, Y, XtY)
            total += _fold_scores(f, Z, y_mean, Yv, alphas, scoring, batch, B)
    return total / len(folds)


def solve_block(X: torch.Tensor, Y: torch.Tensor, full: Decomposition, alpha: torch.Tensor,
                XtY: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Weights (n_features, n_targets) in raw-``X`` units and intercepts, one alpha per target."""
    if XtY is None and not full.dual:
        XtY = X.T @ Y
    Z, y_mean = _project(full, X, Y, XtY)
    G = Z / (full.evals[:, None] + alpha[None, :])
    coef = full.Xs.T @ (full.evecs @ G) if full.dual else full.evecs @ G
    coef = coef / full.x_scale[:, None]
    return coef, y_mean - full.x_mean @ coef


def fit_target_block(
    X: torch.Tensor,
    Y: torch.Tensor,
    folds: list[FoldDecomposition],
    full: Decomposition,
    alphas: torch.Tensor,
    *,
    scoring: str = "r2",
    alpha_batch: int | None = None,
) -> dict[str, torch.Tensor]:
    """Everything a block of targets needs: CV scores, chosen alphas, refitted weights.

    Ties between alphas go to the first (smallest) one. Returns ``scores`` (n_alphas, t),
    ``best`` (t,) alpha indices, ``coef`` (p, t), ``intercept`` (t,).
    """
    XtY = X.T @ Y if any(not f.dual for f in folds) or not full.dual else None
    scores = cv_scores_block(X, Y, folds, alphas, scoring=scoring, alpha_batch=alpha_batch, XtY=XtY)
    # NaN scores (e.g. a target constant within a fold) never win; all-NaN targets get the first alpha.
    best = torch.argmax(torch.nan_to_num(scores, nan=-torch.inf), dim=0)
    coef, intercept = solve_block(X, Y, full, alphas[best], XtY=XtY)
    return {"scores": scores, "best": best, "coef": coef, "intercept": intercept}


def bytes_per_target(n_samples: int, n_features: int, k: int, n_val: int, alpha_batch: int, itemsize: int) -> int:
    """Peak working memory that one more target adds to a block (targets, cross-products, the
    projected targets, one alpha batch of validation predictions, the output weights)."""
    floats = n_samples + 2 * n_features + 5 * k + alpha_batch * n_val + 3 * n_val
    return floats * itemsize


def fixed_bytes(n_samples: int, n_features: int, folds: list[FoldDecomposition], full: Decomposition,
                itemsize: int) -> int:
    """Memory held for the whole fit: X and the fold decompositions."""
    total = n_samples * n_features
    for d in [*folds, full]:
        total += d.evecs.numel() + (d.A.numel() if getattr(d, "A", None) is not None else 0)
        total += d.Xs.numel() if d.Xs is not None else 0
    return total * itemsize


def quadratic_bytes(folds: list[FoldDecomposition]) -> int:
    """Memory of the folds' float64 quadratic forms (two k x k matrices while building one)."""
    return sum(8 * f.evals.numel() ** 2 for f in folds) + 16 * max(f.evals.numel() for f in folds) ** 2


def stack_bytes(folds: list[FoldDecomposition], n_alphas: int, itemsize: int) -> int:
    """Memory of the precomputed alpha stacks of all folds."""
    return sum(n_alphas * f.A.numel() for f in folds) * itemsize
