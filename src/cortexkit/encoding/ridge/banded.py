"""Banded ridge: one penalty per feature space ("band") and per target, by random search.

With feature spaces :math:`X_1, \\ldots, X_m` and band weights :math:`\\gamma` on the simplex, each
candidate scales band :math:`j` by :math:`\\sqrt{\\gamma_j}` and runs the ordinary ridge CV path over
``alphas``; band :math:`j` then has the effective penalty :math:`\\alpha / \\gamma_j`. Every target
keeps the (candidate, alpha) with the best cross-validated score and its weights from that
candidate's refit. Candidates are the equal weighting, each band alone, then Dirichlet samples (as
in himalaya's ``GroupRidgeCV`` random search). Comparing feature spaces this way lets each space
be shrunk on its own, instead of one penalty favouring whichever space has the most features.
"""

from __future__ import annotations

import numpy as np
import torch

from cortexkit._progress import progress_bar
from cortexkit.encoding.ridge.blocks import block_size, run_blocks
from cortexkit.memory import parse_memory
from cortexkit.encoding.ridge.estimator import DEFAULT_ALPHAS, RidgeCV
from cortexkit.errors import ConfigError


def band_candidates(n_bands: int, n_iter, concentration, seed: int) -> np.ndarray:
    """Candidate band weights (n_candidates, n_bands) on the simplex; ``n_iter`` an array: those
    weights, checked and normalised to sum to 1."""
    if not np.isscalar(n_iter):
        given = np.asarray(n_iter, dtype=float)
        if given.ndim != 2 or given.shape[1] != n_bands or not np.isfinite(given).all() or (given < 0).any() \
                or (given.sum(1) <= 0).any():
            raise ConfigError(f"n_iter as band weights must be (candidates, {n_bands}) non-negative rows with a "
                              f"positive sum, got shape {given.shape}")
        return given / given.sum(1, keepdims=True)
    fixed = [np.full(n_bands, 1.0 / n_bands)] + ([np.eye(n_bands)[j] for j in range(n_bands)] if n_bands > 1 else [])
    rng = np.random.default_rng(seed)
    conc = np.atleast_1d(np.asarray(concentration, dtype=float))
    random = [rng.dirichlet(np.full(n_bands, conc[i % len(conc)])) for i in range(max(0, n_iter - len(fixed)))]
    return np.asarray((fixed + random)[: max(n_iter, 1)])


class BandedRidgeCV(RidgeCV):
    """Ridge with a penalty per feature band and per target, chosen by cross-validation.

    Parameters
    ----------
    bands : sequence of int, or sequence of index arrays
        Sizes of consecutive column groups of ``X`` (e.g. ``[n_gabor, n_pca]``), or the column
        indices of each band.
    n_iter : int or array (n_candidates, n_bands)
        Number of candidate band weightings (the first ``1 + n_bands`` are fixed: equal weights and
        each band alone), or the weightings themselves (as himalaya's ``n_iter`` array).
    concentration : float or sequence of float
        Dirichlet concentration(s) of the random candidates (small values favour one band).
    Other parameters are those of :class:`RidgeCV`. With ``standardize``, features are z-scored over
    all samples before band weighting.

    Attributes
    ----------
    band_weights_ : ndarray (n_targets, n_bands) -- chosen weighting of each target
    band_alphas_ : ndarray (n_targets, n_bands) -- effective penalty of each band (alpha / weight)
    candidates_ : ndarray (n_candidates, n_bands)
    cv_scores_ : ndarray (n_candidates, n_targets) -- best score over alphas of each candidate
    band_of_ : ndarray (n_features,) -- band number of every column
    coef_, intercept_, alpha_, best_score_ : as for :class:`RidgeCV`

    ``predict(X, split=True)`` gives each band's part of the prediction and ``score(X, y,
    split=True)`` each band's part of the R² (the product measure), what variance partitioning
    and the attribution of a joint model to its feature spaces read.
    """

    def __init__(
        self,
        bands=(),
        n_iter: int = 20,
        concentration=(0.1, 1.0),
        alphas=DEFAULT_ALPHAS,
        cv=5,
        scoring: str = "r2",
        fit_intercept: bool = True,
        standardize: bool = False,
        solver: str = "auto",
        device: str = "cpu",
        dtype: str = "float32",
        chunk_size: int | None = None,
        max_memory: int | str | None = None,
        alpha_batch: int | None = None,
        scheduler=None,
        random_state: int = 0,
    ):
        super().__init__(alphas=alphas, cv=cv, scoring=scoring, fit_intercept=fit_intercept, standardize=standardize,
                         solver=solver, device=device, dtype=dtype, chunk_size=chunk_size, max_memory=max_memory,
                         alpha_batch=alpha_batch, scheduler=scheduler, random_state=random_state)
        self.bands = bands
        self.n_iter = n_iter
        self.concentration = concentration

    def _band_index(self, n_features: int) -> np.ndarray:
        """Band number of every column."""
        bands = list(self.bands)
        if not bands:
            raise ConfigError("BandedRidgeCV needs bands: column counts or index arrays of each feature space")
        band_of = np.full(n_features, -1)
        if all(np.isscalar(b) for b in bands):
            sizes = np.asarray(bands, dtype=int)
            if sizes.sum() != n_features or (sizes <= 0).any():
                raise ConfigError(f"band sizes {sizes.tolist()} must be positive and sum to the {n_features} features")
            band_of = np.repeat(np.arange(len(sizes)), sizes)
        else:
            for j, idx in enumerate(bands):
                band_of[np.asarray(idx, dtype=int)] = j
            if (band_of < 0).any():
                raise ConfigError(f"{(band_of < 0).sum()} feature(s) belong to no band")
        return band_of

    def fit(self, X, y):
        """Search band weightings and alphas per target; keep each target's best refit."""
        alphas, Xt, y, folds = self._prepare(X, y)
        band_of = torch.as_tensor(self._band_index(Xt.shape[1]), device=Xt.device)
        if self.standardize:
            sd = Xt.std(0, unbiased=False)
            Xt = (Xt - Xt.mean(0)) / torch.where(sd > 0, sd, torch.ones_like(sd))
        n_bands = int(band_of.max()) + 1
        candidates = band_candidates(n_bands, self.n_iter, self.concentration, self.random_state)
        one_target = len(y.shape) == 1
        Y = y[:, None] if one_target else y
        n_targets = Y.shape[1]
        dtype = np.float32 if Xt.dtype == torch.float32 else np.float64
        coef = np.zeros((n_targets, Xt.shape[1]), dtype=dtype)
        intercept = np.zeros(n_targets, dtype=dtype)
        best = np.full(n_targets, -np.inf)
        chosen_alpha = np.zeros(n_targets)
        chosen = np.zeros(n_targets, dtype=np.int64)
        scores = np.empty((len(candidates), n_targets))
        alphas_t = torch.as_tensor(alphas, dtype=Xt.dtype, device=Xt.device)
        with progress_bar("banded ridge candidates", len(candidates)) as advance:
            for c, gamma in enumerate(candidates):
                scale = torch.sqrt(torch.as_tensor(gamma, dtype=Xt.dtype, device=Xt.device))[band_of]
                Xg = Xt * scale
                fold_dec, full = self._decompose(Xg, folds)
                size, batch = block_size(
                    n_samples=Xg.shape[0], n_features=Xg.shape[1], n_targets=n_targets, n_alphas=len(alphas),
                    folds=fold_dec, full=full, alphas=alphas_t, itemsize=Xg.element_size(),
                    chunk_size=self.chunk_size, max_memory=parse_memory(self.max_memory), alpha_batch=self.alpha_batch,
                )
                for s, out in run_blocks(Xg, Y, fold_dec, full, alphas_t, size=size, scoring=self.scoring,
                                         alpha_batch=batch, scheduler=self.scheduler, description="candidate"):
                    cols = np.arange(s.start, s.stop)
                    block_best = out["scores"][out["best"], np.arange(len(cols))]
                    scores[c, s] = block_best
                    better = block_best > best[s]
                    take = cols[better]
                    best[take] = block_best[better]
                    chosen[take] = c
                    chosen_alpha[take] = alphas[out["best"][better]]
                    # Weights on X*scale are, on X, the same weights times the scale.
                    coef[take] = (out["coef"][:, better] * scale.cpu().numpy()[:, None]).T
                    intercept[take] = out["intercept"][better]
                advance()
        if self.standardize:  # back to the units of the raw features
            X_raw = np.asarray(X, dtype=dtype)
            sd = X_raw.std(0)
            sd = np.where(sd > 0, sd, 1.0)
            coef = coef / sd
            intercept = intercept - (X_raw.mean(0) * coef).sum(1)
        weights = candidates[chosen]
        self.band_of_ = band_of.cpu().numpy()
        self.candidates_ = candidates
        self.cv_scores_ = scores
        self.alphas_ = alphas
        self.n_features_in_ = Xt.shape[1]
        self.band_weights_ = weights
        with np.errstate(divide="ignore"):
            self.band_alphas_ = chosen_alpha[:, None] / weights
        if one_target:
            self.coef_, self.intercept_, self.alpha_, self.best_score_ = coef[0], float(intercept[0]), float(chosen_alpha[0]), float(best[0])
        else:
            self.coef_, self.intercept_, self.alpha_, self.best_score_ = coef, intercept, chosen_alpha, best
        return self

    def predict(self, X, split: bool = False) -> np.ndarray:
        """Predicted responses (n_samples, n_targets); with ``split``, each band's part
        (n_bands, n_samples, n_targets): ``X_j @ coef_j.T``, whose sum over bands plus
        ``intercept_`` is the joint prediction."""
        joint = super().predict(X)
        if not split:
            return joint
        X = np.asarray(X, dtype=self.coef_.dtype)
        coef = self.coef_[None] if self.coef_.ndim == 1 else self.coef_
        parts = np.stack([X[:, self.band_of_ == j] @ coef[:, self.band_of_ == j].T
                          for j in range(int(self.band_of_.max()) + 1)])
        return parts[..., 0] if self.coef_.ndim == 1 else parts

    def score(self, X, y, split: bool = False) -> np.ndarray:
        """R² of each target; with ``split``, each band's part (n_bands, n_targets) by the product
        measure (:func:`cortexkit.metrics.r2_split`), summing to the R² of the centered prediction."""
        if not split:
            return super().score(X, y)
        from cortexkit.metrics import r2_split

        return r2_split(np.asarray(y), self.predict(X, split=True))
