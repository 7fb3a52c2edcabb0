"""An ensemble of trained cores: members are ordinary runs from consecutive seeds, the ensemble's
prediction is exactly their mean, it scores at least as well as its average member on held-out
stimuli, it reloads to the same predictions, and a rerun resumes instead of training again."""

import numpy as np
import pandas as pd
import pytest

from cortexkit import data, metrics
from cortexkit.encoding.predictor import EnsemblePredictor, PredictorConfig, SessionSpec
from cortexkit.pipelines.predictor import evaluate_predictor, load_trained, train_predictor
from cortexkit.simulate import simulate_v1


@pytest.fixture(scope="module")
def ensemble(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ensemble")
    path = data.save(simulate_v1(n_train=500, n_test=30, n_repeats=4, n_simple=0, n_complex=10, size=16, seed=4),
                     tmp / "v1.zarr")
    cfg = PredictorConfig(data=[SessionSpec(path=str(path), key="v1")], core={"kind": "conv2d", "channels": 8, "layers": 2,
                          "first_kernel": 9, "kernel": 5}, epochs=3, batch_size=64, lr=5e-3, patience=None,
                          lr_patience=None, ensemble=3)
    run = train_predictor(cfg, tmp / "run", log=lambda m: None)
    return tmp, cfg, run


def test_the_ensemble_is_the_mean_of_its_members(ensemble):
    tmp, cfg, run = ensemble
    assert isinstance(run.model, EnsemblePredictor) and len(run.model.members) == 3
    seeds = [load_trained(tmp / "run" / "members" / str(i)).config.seed for i in range(3)]
    assert seeds == [0, 1, 2]
    pred, y = run.predictions(run.model, "v1", "test")
    members = [run.predictions(m, "v1", "test")[0] for m in run.model.members]
    np.testing.assert_allclose(pred, np.mean(members, axis=0), rtol=1e-5, atol=1e-6)
    assert not np.allclose(members[0], members[1])  # different seeds, different cores
    r = lambda p: np.median(metrics.pearson(y, p))  # noqa: E731
    assert r(pred) >= np.mean([r(m) for m in members]) - 1e-3


def test_reload_scores_and_resume(ensemble):
    tmp, cfg, run = ensemble
    again = load_trained(tmp / "run")
    np.testing.assert_allclose(again.predictions(again.model, "v1", "test")[0], run.predictions(run.model, "v1", "test")[0],
                               rtol=1e-5, atol=1e-6)
    summary = evaluate_predictor(again, tmp / "run")
    assert summary["median_pearson"].iloc[0] > 0.3
    messages = []
    train_predictor(cfg, tmp / "run", log=messages.append)  # finished members are resumed, not retrained
    assert sum("resumed from" in m and "after epoch 3" in m for m in messages) == 3
    assert not any("epoch 1/3" in m for m in messages)
    assert pd.read_csv(tmp / "run" / "summary.csv")["units"].iloc[0] == 10
    with pytest.raises(Exception, match="ensemble"):
        PredictorConfig(data=cfg.data, ensemble=0)
