"""``ForwardBlocksRidgeCV``: ridge over the blocks of features that cross-validation keeps.

Features often come in blocks of unequal use: the population embedding has one block per source
recording, and the sources recorded on the same array as the new recording predict it far better than
those of other animals, whose columns only add variance at one shared penalty. This estimator ranks the
blocks by the median (over targets) cross-validated score of ridge on each block alone, fits the joint
ridge on the best 1, 2, ..., all blocks, and keeps the prefix with the best median cross-validated score
(forward selection along the ranking, every score from the training samples' folds); each target then
has its own penalty on that joint model, as in :class:`~cortexkit.encoding.RidgeCV`.

``coef_`` covers every column (zeros on the blocks left out), so the model predicts from the full
feature matrix; ``columns_`` marks the columns kept.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, MultiOutputMixin, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from cortexkit.encoding.ridge.estimator import DEFAULT_ALPHAS, RidgeCV, check_array
from cortexkit.errors import ConfigError, DataError


class ForwardBlocksRidgeCV(MultiOutputMixin, RegressorMixin, BaseEstimator):
    """Ridge on the best prefix of blocks ranked by their own cross-validated score.

    Parameters
    ----------
    blocks : sequence of int
        Sizes of consecutive column blocks of ``X`` (at least one, positive, summing to its columns).
    alphas, cv, scoring, fit_intercept, device, dtype, random_state
        As for :class:`~cortexkit.encoding.RidgeCV` (the same folds score every candidate).

    Attributes
    ----------
    order_ : ndarray (n_blocks,) -- blocks by decreasing score alone
    block_scores_ : ndarray (n_blocks,) -- median CV score of each block alone
    prefix_scores_ : ndarray (n_blocks,) -- median CV score of the joint model on the best 1..n blocks
    n_blocks_ : int -- blocks kept (the best prefix)
    blocks_ : ndarray (n_kept,) -- the kept blocks' indices, best first
    columns_ : ndarray of bool (n_features,)
    coef_, intercept_, alpha_, best_score_, cv_scores_, alphas_ : as for RidgeCV (on the kept columns;
        ``coef_`` zero elsewhere)
    """

    def __init__(self, blocks=(), alphas=DEFAULT_ALPHAS, cv=5, scoring: str = "r2", fit_intercept: bool = True,
                 device: str = "cpu", dtype: str = "float32", random_state: int = 0):
        self.blocks = blocks
        self.alphas = alphas
        self.cv = cv
        self.scoring = scoring
        self.fit_intercept = fit_intercept
        self.device = device
        self.dtype = dtype
        self.random_state = random_state

    def _ridge(self) -> RidgeCV:
        return RidgeCV(alphas=self.alphas, cv=self.cv, scoring=self.scoring, fit_intercept=self.fit_intercept,
                       device=self.device, dtype=self.dtype, random_state=self.random_state)

    def _block_slices(self, n_features: int) -> list[slice]:
        sizes = [int(b) for b in np.atleast_1d(np.asarray(self.blocks, dtype=float))]
        if not sizes or min(sizes) < 1 or any(float(b) != int(b) for b in np.atleast_1d(self.blocks)):
            raise ConfigError(f"blocks must be positive whole sizes, got {list(np.atleast_1d(self.blocks))}")
        if sum(sizes) != n_features:
            raise DataError(f"blocks sum to {sum(sizes)} columns; X has {n_features}", variable="X")
        edges = np.cumsum([0] + sizes)
        return [slice(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:])]

    def fit(self, X, y):
        """Rank the blocks, choose the prefix, fit the joint ridge on it."""
        X = check_array(X, "X", (2,))
        y = check_array(y, "y", (1, 2))
        slices = self._block_slices(X.shape[1])
        alone = [self._ridge().fit(X[:, s], y) for s in slices]
        self.block_scores_ = np.array([float(np.median(np.atleast_1d(m.best_score_))) for m in alone])
        self.order_ = np.argsort(-self.block_scores_, kind="stable")
        fits, scores = [], []
        for k in range(1, len(slices) + 1):
            if k == 1:
                model = alone[self.order_[0]]
            else:
                model = self._ridge().fit(X[:, self._columns(slices, self.order_[:k], X.shape[1])], y)
            fits.append(model)
            scores.append(float(np.median(np.atleast_1d(model.best_score_))))
        self.prefix_scores_ = np.array(scores)
        k = int(np.argmax(self.prefix_scores_)) + 1
        self.n_blocks_ = k
        self.blocks_ = self.order_[:k]
        self.columns_ = self._columns(slices, self.blocks_, X.shape[1])
        best = fits[k - 1]
        coef = np.zeros((y.shape[1] if y.ndim == 2 else 1, X.shape[1]), dtype=np.atleast_2d(best.coef_).dtype)
        coef[:, self.columns_] = np.atleast_2d(best.coef_)
        self.coef_ = coef if y.ndim == 2 else coef[0]
        for name in ("intercept_", "alpha_", "best_score_", "cv_scores_", "alphas_"):
            setattr(self, name, getattr(best, name))
        self.n_features_in_ = X.shape[1]
        return self

    @staticmethod
    def _columns(slices: list[slice], chosen, n_features: int) -> np.ndarray:
        mask = np.zeros(n_features, dtype=bool)
        for b in chosen:
            mask[slices[int(b)]] = True
        return mask

    def predict(self, X) -> np.ndarray:
        """Predicted responses (n_samples, n_targets)."""
        check_is_fitted(self, "coef_")
        X = check_array(X, "X", (2,))
        if X.shape[1] != self.n_features_in_:
            raise DataError(f"X has {X.shape[1]} features; the model was fitted on {self.n_features_in_}", variable="X")
        coef = np.atleast_2d(self.coef_)
        out = X[:, self.columns_].astype(coef.dtype, copy=False) @ coef[:, self.columns_].T + self.intercept_
        return out if np.ndim(self.coef_) == 2 else out[:, 0]
