"""``RidgeCV``: cross-validated ridge regression with one alpha per target (unit / voxel).

A thin scikit-learn layer over :mod:`cortexkit.encoding.ridge._solvers`: it validates input,
builds the folds, moves arrays to the chosen torch device and dtype, and stores the results.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.base import BaseEstimator, MultiOutputMixin, RegressorMixin
from sklearn.model_selection import KFold, check_cv
from sklearn.utils.validation import check_is_fitted

from cortexkit.encoding.ridge import _solvers
from cortexkit.encoding.ridge.blocks import block_size, run_blocks
from cortexkit.memory import parse_memory
from cortexkit.errors import ConfigError, DataError, listed

DEFAULT_ALPHAS = tuple(np.logspace(-2, 8, 21))
_DTYPES = {"float32": torch.float32, "float64": torch.float64}


def _check_targets(y):
    """Targets as given when lazy (Dask/Zarr: checked block by block), else a checked ndarray."""
    if hasattr(y, "shape") and hasattr(y, "dtype") and not isinstance(y, np.ndarray) and len(y.shape) in (1, 2):
        if np.dtype(y.dtype).kind not in "fiub":
            raise DataError(f"expected numbers, got dtype {y.dtype}", variable="y")
        return y
    return check_array(y, "y", (1, 2))


def check_array(a, name: str, ndim: tuple[int, ...]) -> np.ndarray:
    """``a`` as a finite numeric ndarray of one of the dimensions ``ndim``; else a DataError naming ``name``."""
    try:
        arr = np.asarray(a)
    except Exception as exc:  # ragged lists and the like
        raise DataError(f"cannot be read as an array ({exc})", variable=name) from None
    if arr.ndim not in ndim:
        raise DataError(f"expected {' or '.join(f'{d}-D' for d in ndim)}, got shape {arr.shape}", variable=name)
    if arr.dtype.kind not in "fiub":
        raise DataError(f"expected numbers, got dtype {arr.dtype}", variable=name)
    if not np.isfinite(arr).all():
        raise DataError(f"contains {int((~np.isfinite(arr)).sum())} NaN/inf value(s)", variable=name)
    return arr


class RidgeCV(MultiOutputMixin, RegressorMixin, BaseEstimator):
    """Ridge regression with the penalty chosen per target by K-fold cross-validation.

    For each fold the (centred, optionally standardised) training features are decomposed once
    and every alpha is scored from that decomposition; each target then takes the alpha with the
    best mean validation score, and is refitted on all the data with it. The primal (features <=
    samples) or dual (features > samples) form is chosen automatically. Targets are processed in
    blocks sized to ``max_memory``, in this process or as Dask tasks (``scheduler``).

    Parameters
    ----------
    alphas : sequence of float
        Penalties to try (> 0). Default ``logspace(-2, 8, 21)``.
    cv : int, cross-validation splitter or iterable of (train, val) index pairs
        An int gives shuffled ``KFold(cv, random_state=random_state)``.
    scoring : {"r2", "pearson", "neg_mse"}
        Validation score used to choose alphas, averaged over folds.
    fit_intercept : bool
        Centre features and targets (an unpenalised intercept).
    standardize : bool
        Scale each feature to unit variance before penalising (statistics of the rows being
        fitted); ``coef_`` is always in the units of the raw features.
    solver : {"auto", "primal", "dual"}
    device : str
        Torch device ("cpu", "cuda", "cuda:1", ...).
    dtype : {"float32", "float64"}
        Working precision. float32 decompositions that fail are redone in float64.
    chunk_size : int, optional
        Most targets per block.
    max_memory : int or str, optional
        Memory budget of the fit ("4GB"): X, its decompositions, the outputs and one block of
        targets' temporaries stay within it, whatever the number of targets.
    alpha_batch : int, optional
        Alphas scored together (all by default; lowered automatically to fit ``max_memory``).
    scheduler : str or distributed.Client, optional
        Run the target blocks as Dask tasks on this cluster ("tcp://host:8786"). ``y`` may then be a
        Dask array over a shared Zarr store, read by the workers.
    random_state : int
        Seed of the fold shuffling when ``cv`` is an int.

    Attributes
    ----------
    coef_ : ndarray, (n_targets, n_features), or (n_features,) for a 1-D target
    intercept_ : ndarray (n_targets,) or float
    alpha_ : ndarray (n_targets,) or float -- chosen penalty per target
    cv_scores_ : ndarray (n_alphas, n_targets) -- mean validation score of every alpha
    best_score_ : ndarray (n_targets,) -- validation score at the chosen alpha
    alphas_ : ndarray (n_alphas,)
    n_features_in_ : int

    Notes
    -----
    ``score`` returns one R² per target (an array), not scikit-learn's average: encoding models
    are judged unit by unit.
    """

    def __init__(
        self,
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
        self.alphas = alphas
        self.cv = cv
        self.scoring = scoring
        self.fit_intercept = fit_intercept
        self.standardize = standardize
        self.solver = solver
        self.device = device
        self.dtype = dtype
        self.chunk_size = chunk_size
        self.max_memory = max_memory
        self.alpha_batch = alpha_batch
        self.scheduler = scheduler
        self.random_state = random_state

    def _check_params(self) -> tuple[np.ndarray, torch.dtype]:
        alphas = np.atleast_1d(np.asarray(self.alphas, dtype=np.float64))
        if alphas.ndim != 1 or alphas.size == 0 or not np.all(alphas > 0) or not np.isfinite(alphas).all():
            raise ConfigError(f"alphas must be a non-empty list of positive numbers, got {self.alphas!r}")
        if self.scoring not in _solvers.SCORINGS:
            raise ConfigError(f"scoring must be one of {_solvers.SCORINGS}, got {self.scoring!r}")
        if self.solver not in ("auto", "primal", "dual"):
            raise ConfigError(f"solver must be 'auto', 'primal' or 'dual', got {self.solver!r}")
        if self.dtype not in _DTYPES:
            raise ConfigError(f"dtype must be one of {listed(_DTYPES)}, got {self.dtype!r}")
        return alphas, _DTYPES[self.dtype]

    def _folds(self, n: int):
        cv = KFold(self.cv, shuffle=True, random_state=self.random_state) if isinstance(self.cv, int) else self.cv
        splitter = check_cv(cv)
        folds = list(splitter.split(np.zeros((n, 1))))
        if any(len(tr) == 0 or len(va) == 0 for tr, va in folds):
            raise DataError(f"a cross-validation fold is empty with {n} samples", variable="cv")
        return folds

    def _prepare(self, X, y):
        """Validated inputs, the tensor of X, the fold and full decompositions."""
        alphas, dtype = self._check_params()
        X = check_array(X, "X", (2,))
        y = _check_targets(y)
        if X.shape[0] != y.shape[0]:
            raise DataError(f"X has {X.shape[0]} samples but y has {y.shape[0]}", variable="y")
        n_splits = self.cv if isinstance(self.cv, int) else None
        if n_splits is not None and (n_splits < 2 or X.shape[0] < n_splits):
            raise DataError(f"cv={n_splits} folds need at least {max(n_splits, 2)} samples and cv >= 2", variable="cv")
        device = torch.device(self.device)
        Xt = torch.as_tensor(X, dtype=dtype, device=device)
        folds = [(torch.as_tensor(tr, device=device), torch.as_tensor(va, device=device)) for tr, va in self._folds(X.shape[0])]
        return alphas, Xt, y, folds

    def _decompose(self, Xt, folds):
        options = dict(fit_intercept=self.fit_intercept, standardize=self.standardize, solver=self.solver)
        return _solvers.decompose_all(Xt, folds, **options)

    def fit(self, X, y):
        """Choose an alpha per target by cross-validation, then refit on all of ``X``, ``y``.

        Parameters
        ----------
        X : array (n_samples, n_features)
        y : array (n_samples,) or (n_samples, n_targets); a Dask or Zarr array is read block by block
        """
        alphas, Xt, y, folds = self._prepare(X, y)
        one_target = len(y.shape) == 1
        Y = y[:, None] if one_target else y
        fold_dec, full = self._decompose(Xt, folds)
        n_targets = Y.shape[1]
        alphas_t = torch.as_tensor(alphas, dtype=Xt.dtype, device=Xt.device)
        size, batch = block_size(
            n_samples=Xt.shape[0], n_features=Xt.shape[1], n_targets=n_targets, n_alphas=len(alphas),
            folds=fold_dec, full=full, alphas=alphas_t, itemsize=Xt.element_size(), chunk_size=self.chunk_size,
            max_memory=parse_memory(self.max_memory), alpha_batch=self.alpha_batch,
        )
        coef = np.empty((n_targets, Xt.shape[1]), dtype=np.float32 if Xt.dtype == torch.float32 else np.float64)
        intercept = np.empty(n_targets, dtype=coef.dtype)
        scores = np.empty((len(alphas), n_targets))
        best = np.empty(n_targets, dtype=np.int64)
        for s, out in run_blocks(Xt, Y, fold_dec, full, alphas_t, size=size, scoring=self.scoring,
                                 alpha_batch=batch, scheduler=self.scheduler, description="ridge"):
            coef[s] = out["coef"].T
            intercept[s] = out["intercept"]
            scores[:, s] = out["scores"]
            best[s] = out["best"]
        self.alphas_ = alphas
        self.cv_scores_ = scores
        self.n_features_in_ = Xt.shape[1]
        self.block_size_ = size
        chosen = alphas[best]
        best_score = scores[best, np.arange(n_targets)]
        if one_target:
            self.coef_, self.intercept_, self.alpha_ = coef[0], float(intercept[0]), float(chosen[0])
            self.best_score_ = float(best_score[0])
        else:
            self.coef_, self.intercept_, self.alpha_, self.best_score_ = coef, intercept, chosen, best_score
        return self

    def predict(self, X) -> np.ndarray:
        """Predicted responses, (n_samples, n_targets) or (n_samples,) for a 1-D target."""
        check_is_fitted(self, "coef_")
        X = check_array(X, "X", (2,))
        if X.shape[1] != self.n_features_in_:
            raise DataError(f"X has {X.shape[1]} features; the model was fitted on {self.n_features_in_}", variable="X")
        return X.astype(self.coef_.dtype, copy=False) @ self.coef_.T + self.intercept_

    def score(self, X, y) -> np.ndarray:
        """R² = 1 - SSE/SST of each target on (X, y): an array of n_targets values."""
        y = check_array(y, "y", (1, 2))
        pred = self.predict(X)
        ss_res = ((y - pred) ** 2).sum(0)
        ss_tot = ((y - y.mean(0)) ** 2).sum(0)
        with np.errstate(divide="ignore", invalid="ignore"):
            return 1.0 - ss_res / ss_tot
