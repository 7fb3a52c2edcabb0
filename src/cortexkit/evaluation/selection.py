"""The selection protocol: every choice among fitted models (a network's layer, the best of several
feature spaces) is made on the training split, by the cross-validation score the fit already
computed there (``cv_score``: each unit's validation score at its chosen alpha, K folds inside the
training split), and recorded with the scores behind it. The test split is read once, for the final
scores: permuting the test responses changes no choice.

``results`` tables are the per-unit rows of :func:`cortexkit.pipelines.evaluate_run` (``model``,
``cv_score``, and the test metrics).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SELECTED_BY = "median cross-validated score on the training split"


def cv_medians(results: pd.DataFrame, models: list[str] | None = None) -> pd.Series:
    """Median ``cv_score`` over units of each model (of ``models``, in their order; default every
    model in order of appearance): what the choice is made on. NaN for a model without CV scores."""
    names = list(dict.fromkeys(results["model"])) if models is None else list(models)
    out = {}
    for name in names:
        cv = (results.loc[results["model"] == name, "cv_score"].to_numpy(float) if "cv_score" in results
              else np.array([]))
        out[name] = float(np.nanmedian(cv)) if np.isfinite(cv).any() else float("nan")
    return pd.Series(out, dtype=float)


def _best(medians: pd.Series) -> str:
    """The model with the best median CV score; the first where none has one."""
    return str(medians.idxmax() if medians.notna().any() else medians.index[0])


def choose_model(results: pd.DataFrame, models: list[str] | None = None) -> str:
    """The model (of ``models``) with the best median cross-validated score on the training split;
    the first where none has one. Test scores are never looked at."""
    return _best(cv_medians(results, models))


def selection_record(results: pd.DataFrame, models: list[str] | None = None) -> dict:
    """The choice among ``models`` with the scores behind it: ``{"chosen", "selected_by", "cv":
    {model: median CV score}}`` (what a run folder or a benchmark cell keeps)."""
    medians = cv_medians(results, models)
    return {"chosen": _best(medians), "selected_by": SELECTED_BY,
            "cv": {name: (None if not np.isfinite(v) else float(v)) for name, v in medians.items()}}


def headline_models(results: pd.DataFrame) -> list[str]:
    """The model a run's figures show for each feature space: its one model, or the layer a
    multi-layer feature space is represented by, chosen by :func:`choose_model` (CV on the
    training split, never the test scores)."""
    return [choose_model(frame) if frame["model"].nunique() > 1 else str(frame["model"].iloc[0])
            for _, frame in results.groupby("feature_space", sort=False)]


def chosen_per_group(results: pd.DataFrame, by: str) -> dict:
    """The model :func:`choose_model` picks within each value of ``by`` (e.g. each brain area: the
    layer that area is best predicted by, by CV on the training split)."""
    return {key: choose_model(frame) for key, frame in results.groupby(by, sort=False)}
