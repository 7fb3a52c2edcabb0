"""Stacked regression: out-of-fold ridge equals scikit-learn's Ridge per fold; weights recover a
known convex mixture; a stacked run is never worse than its parts on simulated cells."""

import numpy as np
import pytest
from sklearn.linear_model import Ridge

from cortexkit.encoding.stacking import kfold_indices, ridge_oof_predictions, stack_weights, stacked_prediction
from cortexkit.errors import DataError


@pytest.mark.parametrize("n, p, offset", [(60, 200, 0.0), (60, 20, 30.0)], ids=["features>samples", "offset"])
def test_oof_predictions_match_sklearn_per_fold(n, p, offset):
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((n, p)) + offset, rng.standard_normal((n, 3))
    alpha = np.array([0.1, 10.0, 1000.0])
    folds = kfold_indices(n, 4, seed=1)
    oof = ridge_oof_predictions(x, y, alpha, folds)
    for val in folds:
        fit = np.setdiff1d(np.arange(n), val)
        for t in range(3):
            expected = Ridge(alpha=alpha[t]).fit(x[fit], y[fit, t]).predict(x[val])
            np.testing.assert_allclose(oof[val, t], expected, rtol=1e-7, atol=1e-9)
    assert sorted(np.concatenate(folds).tolist()) == list(range(n))


def test_weights_recover_a_convex_mixture():
    rng = np.random.default_rng(1)
    preds = rng.standard_normal((500, 4, 3))
    true = np.array([[1, 0, 0], [0.5, 0.5, 0], [0.2, 0.3, 0.5], [0, 0, 1]])
    y = stacked_prediction(preds, true) + 0.01 * rng.standard_normal((500, 4))
    w = stack_weights(preds, y)
    np.testing.assert_allclose(w, true, atol=0.02)
    np.testing.assert_allclose(w.sum(1), 1, atol=1e-9)
    assert (w >= 0).all()
    with pytest.raises(DataError, match="does not match targets"):
        stack_weights(preds, y[:10])


def test_stacked_run_is_scored_and_no_worse_than_its_parts(tmp_path, small_v1):
    from cortexkit import data
    from cortexkit.pipelines import EncodingConfig, FeatureSpec, StackSpec, evaluate_run, fit_run

    store = data.save(small_v1, tmp_path / "d.zarr")
    config = EncodingConfig(features=[FeatureSpec(name="pixels"), FeatureSpec(name="gabor")], stack=StackSpec())
    messages = []
    fit_run(store, tmp_path / "run", config, log=messages.append)
    assert any("stacked: 2 models" in m for m in messages)
    results = evaluate_run(tmp_path / "run", log=lambda m: None)
    medians = results.groupby("model")["pearson_true"].median()
    assert set(medians.index) == {"pixels", "gabor", "stacked"}
    assert medians["stacked"] >= max(medians["pixels"], medians["gabor"]) - 0.02
    weights = np.load(tmp_path / "run" / "models" / "stacked.npz")["weights"]
    np.testing.assert_allclose(weights.sum(1), 1, atol=1e-5)
    # a rerun keeps the stacked model
    messages.clear()
    fit_run(store, tmp_path / "run", config, log=messages.append)
    assert any("stacked: already fitted" in m for m in messages)
