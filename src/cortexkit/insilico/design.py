"""Experiment design: which images to show next.

From a large pool of candidate stimuli, choose the ``n`` that

- ``disagreement``: a model ensemble disagrees on most (query by committee: where the models differ,
  a recording tells them apart and constrains the next fit), or
- ``drive``: are predicted to drive chosen units most (the ensemble mean), e.g. to confirm a unit's
  preference in the lab.

Each unit's predictions are measured in units of its spread over the pool (the SD of the ensemble
mean), so loud units do not outweigh quiet ones. Near-duplicates (pixel correlation above
``max_similarity`` with an image already chosen) are passed over so the set is not one image n times.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cortexkit._progress import track
from cortexkit.errors import ConfigError, listed
from cortexkit.insilico.response_model import RidgeResponseModel

OBJECTIVES = ("disagreement", "drive")


def ensemble_predictions(models, pool: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Predictions (model, image, unit) of every model on the pool; the models must share their
    units (same names, same order)."""
    if len(models) < 1:
        raise ConfigError("experiment design needs at least one model")
    first = models[0]
    for m in models[1:]:
        if list(m.units) != list(first.units):
            raise ConfigError(f"the models predict different units ({m.describe()} vs {first.describe()}); "
                              "an ensemble needs models of the same recording")
        if m.image_shape != first.image_shape:
            raise ConfigError(f"the models take different stimuli ({m.image_shape} vs {first.image_shape})")
    pool = first.check_stimuli(pool)
    out = np.empty((len(models), len(pool), len(first.units)), np.float32)
    # in batches, each feature space run once per batch for all the models (layers) that read it
    for start in track(range(0, len(pool), batch_size), f"{len(models)} model(s) on {len(pool)} candidate stimuli"):
        batch, shared = pool[start:start + batch_size], {}
        for i, m in enumerate(models):
            if isinstance(m, RidgeResponseModel):
                if id(m.extractor) not in shared:
                    shared[id(m.extractor)] = m.features(batch)
                out[i, start:start + len(batch)] = m.predict_features(shared[id(m.extractor)])
            else:
                out[i, start:start + len(batch)] = m.predict(batch)
    return out


def design_scores(predictions: np.ndarray, objective: str = "disagreement", units=None) -> np.ndarray:
    """Per image, the ``objective`` (see the module) from ensemble predictions (model, image, unit);
    ``units`` (indices) restricts it to some units."""
    if objective not in OBJECTIVES:
        raise ConfigError(f"objective must be one of {listed(OBJECTIVES)}, got {objective!r}")
    if objective == "disagreement" and len(predictions) < 2:
        raise ConfigError("ensemble disagreement needs at least two models")
    if units is not None:
        predictions = predictions[..., np.asarray(units, dtype=int)]
    mean = predictions.mean(axis=0)  # (image, unit)
    scale = mean.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    if objective == "disagreement":
        return (predictions.var(axis=0) / scale**2).mean(axis=1)
    return ((mean - mean.mean(axis=0)) / scale).mean(axis=1)


def choose(pool: np.ndarray, scores: np.ndarray, n: int, max_similarity: float = 0.95) -> np.ndarray:
    """Indices of the ``n`` best-scoring pool images, best first, skipping any whose pixel correlation
    with an image already chosen exceeds ``max_similarity``."""
    if n < 1:
        raise ConfigError(f"n must be >= 1, got {n}")
    if not 0 < max_similarity <= 1:
        raise ConfigError(f"max_similarity must be in (0, 1], got {max_similarity}")
    flat = np.asarray(pool, np.float32).reshape(len(pool), -1)
    flat = flat - flat.mean(axis=1, keepdims=True)
    flat /= np.linalg.norm(flat, axis=1, keepdims=True) + 1e-12
    chosen: list[int] = []
    for i in np.argsort(-np.asarray(scores), kind="stable"):
        if chosen and max_similarity < 1 and (flat[chosen] @ flat[i]).max() > max_similarity:
            continue
        chosen.append(int(i))
        if len(chosen) == n:
            break
    if len(chosen) < n:
        raise ConfigError(f"only {len(chosen)} of the {len(pool)} pool images are unlike each other "
                          f"(pixel correlation <= {max_similarity}); ask for fewer or raise max_similarity")
    return np.asarray(chosen)


def design_experiment(models, pool: np.ndarray, n: int, *, objective: str = "disagreement", units=None,
                      max_similarity: float = 0.95) -> pd.DataFrame:
    """The ``n`` pool images to show next, best first: one row per image with its pool ``index``,
    ``score``, ``disagreement`` and ``drive`` (both objectives, over ``units``), and the ensemble's
    mean predicted response of each unit asked for (all units when they are 10 or fewer)."""
    index = None if units is None else models[0].unit_index(units)
    predictions = ensemble_predictions(models, pool)
    scores = design_scores(predictions, objective, index)
    picked = choose(pool, scores, n, max_similarity)
    table = pd.DataFrame({"rank": np.arange(1, n + 1), "index": picked, "score": scores[picked]})
    both = {o: design_scores(predictions, o, index) for o in OBJECTIVES if o == "drive" or len(models) > 1}
    for name, values in both.items():
        table[name] = values[picked]
    shown = index if index is not None else (np.arange(predictions.shape[2]) if predictions.shape[2] <= 10 else [])
    mean = predictions.mean(axis=0)
    for u in shown:
        table[f"predicted_{models[0].units[u]}"] = mean[picked, u]
    return table
