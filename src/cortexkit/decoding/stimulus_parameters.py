"""Decoding stimulus parameters (motion direction, coherence, speed) from population responses.

Cross-validated decoders: for categories (directions) multinomial logistic regression on z-scored
responses, or the Poisson maximum-likelihood decoder of the tuning-curve literature (each class's
mean count per unit, the class of highest Poisson likelihood; counts only); for continuous values
(speed) ridge on z-scored responses. Results carry their chance level
(the most frequent class, or R² = 0), a permutation p-value (labels shuffled, the whole CV
repeated) and, for categories, the confusion matrix.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.metrics import confusion_matrix, r2_score
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from cortexkit.decoding.base import check_responses
from cortexkit.errors import ConfigError, DataError, listed

METHODS = ("logistic", "poisson")


@dataclass
class ParameterDecoding:
    """The result of :func:`decode_parameter`."""

    kind: str  # "classification" or "regression"
    score: float  # accuracy, or R²
    chance: float
    p_value: float
    predictions: np.ndarray
    labels: np.ndarray | None = None  # class labels, in confusion-matrix order
    confusion: np.ndarray | None = None  # rows: true class, columns: predicted


class PoissonDecoder(ClassifierMixin, BaseEstimator):
    """Maximum-likelihood decoding under independent Poisson counts: ``fit`` takes each class's mean
    count per unit (its tuning curve), ``predict`` the class maximising
    ``sum_u k_u log(rate_cu) - rate_cu`` (ties to the first class).

    Parameters
    ----------
    floor : float
        Smallest rate, so that a unit silent in one class's training trials does not veto it.
    """

    def __init__(self, floor: float = 1e-3):
        self.floor = floor

    def fit(self, x, y):
        """Each class's mean count per unit from trials ``x`` (trial, unit) labelled ``y``."""
        x = np.asarray(x, dtype=np.float64)
        self.classes_, idx = np.unique(y, return_inverse=True)
        self.rates_ = np.maximum(np.stack([x[idx == k].mean(0) for k in range(len(self.classes_))]), self.floor)
        return self

    def predict_log_likelihood(self, x) -> np.ndarray:
        """(trial, class) Poisson log-likelihoods, up to the terms that do not depend on the class."""
        x = np.asarray(x, dtype=np.float64)
        return x @ np.log(self.rates_).T - self.rates_.sum(1)

    def predict(self, x):
        """The most likely class of each trial."""
        return self.classes_[np.argmax(self.predict_log_likelihood(x), axis=1)]


def decode_parameter(responses, values, *, kind: str = "auto", cv: int = 5, n_permutations: int = 200,
                     seed: int = 0, C: float = 1.0, method: str = "logistic") -> ParameterDecoding:
    """Cross-validated decoding of one stimulus parameter per trial (or stimulus).

    Parameters
    ----------
    responses : (n, n_units)
    values : (n,) the parameter; text or few distinct values are treated as classes
    kind : "classification", "regression" or "auto"
    cv : folds (stratified for classes)
    n_permutations : label shuffles for the p-value (0 to skip)
    C : inverse L2 penalty of the logistic regression
    method : "logistic" or "poisson" (:class:`PoissonDecoder`; non-negative counts) for classes
    """
    x = check_responses(responses)
    if method not in METHODS:
        raise ConfigError(f"method must be one of {listed(METHODS)}, got {method!r}")
    y = np.asarray(values)
    if len(y) != len(x):
        raise DataError(f"has {len(y)} values for {len(x)} response rows", variable="values")
    if kind == "auto":
        kind = "classification" if y.dtype.kind in "OUSb" or len(np.unique(y)) <= 16 else "regression"
    if kind == "classification":
        labels, y_idx = np.unique(y, return_inverse=True)
        if len(labels) < 2:
            raise DataError("needs at least two classes", variable="values")
        folds = min(cv, int(np.bincount(y_idx).min()))
        if folds < 2:
            raise DataError("every class needs at least 2 trials for cross-validation", variable="values")
        if method == "poisson":
            if (x < 0).any() or not np.allclose(x, np.round(x)):
                raise DataError("the Poisson decoder needs spike counts (non-negative integers); "
                                "convert with counts, or use method='logistic'", variable="responses")
            model = PoissonDecoder()
        else:
            model = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=2000))
        splitter = StratifiedKFold(folds, shuffle=True, random_state=seed)

        def run(target):
            return cross_val_predict(model, x, target, cv=splitter)

        pred = run(y_idx)
        score = float((pred == y_idx).mean())
        chance = float(np.bincount(y_idx).max() / len(y_idx))
        rng = np.random.default_rng(seed)
        null = [float((run(p) == p).mean()) for p in (rng.permutation(y_idx) for _ in range(n_permutations))]
        p = (1 + sum(v >= score for v in null)) / (1 + n_permutations)
        return ParameterDecoding(kind, score, chance, float(p), labels[pred], labels,
                                 confusion_matrix(y_idx, pred, labels=np.arange(len(labels))))
    if kind != "regression":
        raise DataError(f"kind must be classification, regression or auto, got {kind!r}", variable="kind")
    if method != "logistic":
        raise ConfigError(f"method {method!r} decodes classes; {len(np.unique(y))} distinct values were decoded as a continuous parameter")
    yf = y.astype(float)
    model = make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-2, 5, 15)))
    splitter = KFold(cv, shuffle=True, random_state=seed)
    pred = cross_val_predict(model, x, yf, cv=splitter)
    score = float(r2_score(yf, pred))
    rng = np.random.default_rng(seed)
    null = [float(r2_score(p, cross_val_predict(model, x, p, cv=splitter))) for p in (rng.permutation(yf) for _ in range(n_permutations))]
    p = (1 + sum(v >= score for v in null)) / (1 + n_permutations)
    return ParameterDecoding(kind, score, 0.0, float(p), pred)


def neurometric(responses, direction, coherence, *, cv: int = 5, seed: int = 0) -> dict[float, float]:
    """Cross-validated accuracy of decoding the direction at each coherence (a neurometric curve).

    Parameters
    ----------
    responses : array, shape (trial, unit)
    direction : array, shape (trial,)
        The decoded labels.
    coherence : array, shape (trial,)
        The level each trial belongs to.
    cv, seed :
        Folds of the cross-validation (as in :func:`decode_parameter`) and their seed.

    Returns
    -------
    dict of float to float
        Accuracy at each coherence level that has at least two directions.
    """
    x = check_responses(responses)
    direction, coherence = np.asarray(direction), np.asarray(coherence)
    out = {}
    for c in np.unique(coherence):
        sel = coherence == c
        if len(np.unique(direction[sel])) < 2:
            continue
        out[float(c)] = decode_parameter(x[sel], direction[sel], kind="classification", cv=cv, n_permutations=0, seed=seed).score
    return out
