"""Hyperparameter search of a trained predictor: seeded, scored on validation stimuli only, resumable
(a second call adds trials instead of starting over), and its best config trains with one more command."""

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from cortexkit import data
from cortexkit.cli import app
from cortexkit.encoding.predictor.config import PredictorConfig, SessionSpec
from cortexkit.errors import ConfigError
from cortexkit.pipelines.predictor_search import parse_space, run_search, with_values
from cortexkit.simulate import simulate_v1

SPACE = {"lr": {"low": 1e-4, "high": 2e-2, "log": True}, "core.channels": {"choices": [4, 8]}}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("search")
    path = data.save(simulate_v1(n_train=300, n_test=20, n_repeats=2, n_simple=0, n_complex=6, size=16, seed=4),
                     tmp / "v1.zarr")
    config = PredictorConfig(data=[SessionSpec(path=str(path), key="v1")], core={"kind": "conv2d", "channels": 8,
                             "layers": 2, "first_kernel": 9, "kernel": 5}, epochs=2, batch_size=64, patience=None,
                             lr_patience=None)
    (tmp / "config.yaml").write_text(yaml.safe_dump(config.model_dump(mode="json")))
    (tmp / "space.yaml").write_text(yaml.safe_dump(SPACE))
    return tmp, config


def test_search_resumes_and_never_reads_the_test_split(tiny, monkeypatch):
    tmp, config = tiny
    import cortexkit.pipelines.predictor as predictor

    def no_test(*args, **kwargs):
        raise AssertionError("the search scored the test split")

    monkeypatch.setattr(predictor, "evaluate_predictor", no_test)
    first = run_search(config, SPACE, tmp / "out", trials=2, log=lambda m: None)
    assert (first["trials"]["state"] == "COMPLETE").sum() == 2
    again = run_search(config, SPACE, tmp / "out", trials=3, log=lambda m: None)  # resumes: one more trial
    table = again["trials"]
    assert (table["state"] == "COMPLETE").sum() == 3 and table["trial"].tolist() == [0, 1, 2]
    np.testing.assert_allclose(table["validation score"][:2], first["trials"]["validation score"])
    assert again["best_score"] == pytest.approx(table["validation score"].max())
    best = yaml.safe_load((tmp / "out" / "best.yaml").read_text())
    row = table.loc[table["validation score"].idxmax()]
    assert best["lr"] == pytest.approx(row["lr"]) and best["core"]["channels"] == row["core.channels"]
    assert best["core"]["layers"] == 2  # the rest of the config is kept


def test_seeded_sampling_and_grid(tiny):
    tmp, config = tiny
    a = run_search(config, SPACE, tmp / "a", trials=2, log=lambda m: None)["trials"]
    b = run_search(config, SPACE, tmp / "b", trials=2, log=lambda m: None)["trials"]
    np.testing.assert_array_equal(a["lr"], b["lr"])
    grid = run_search(config, {"core.channels": {"choices": [4, 8]}}, tmp / "grid", trials=5, sampler="grid",
                      log=lambda m: None)["trials"]
    assert sorted(grid["core.channels"]) == [4, 8]  # the grid is exhausted after its two points


def test_cli_search_then_train_the_best(tiny):
    tmp, _ = tiny
    out = tmp / "cli"
    res = CliRunner().invoke(app, ["train", str(tmp / "config.yaml"), "--out", str(out), "--search",
                                   str(tmp / "space.yaml"), "--trials", "1"])
    assert res.exit_code == 0, res.output
    assert f"next: cortexkit train {out / 'best.yaml'}" in " ".join(res.output.split())
    res = CliRunner().invoke(app, ["train", str(out / "best.yaml"), "--out", str(tmp / "best_run")])
    assert res.exit_code == 0, res.output
    assert (tmp / "best_run" / "summary.csv").is_file()


def test_bad_spaces(tiny):
    _, config = tiny
    with pytest.raises(ConfigError, match="'learning_rate' is not a config field"):
        parse_space({"learning_rate": {"low": 1, "high": 2}}, config)
    with pytest.raises(ConfigError, match="needs low < high"):
        parse_space({"lr": {"low": 1e-2, "high": 1e-3}}, config)
    with pytest.raises(ConfigError, match="low > 0"):
        parse_space({"lr": {"low": 0, "high": 1e-3, "log": True}}, config)
    with pytest.raises(ConfigError, match="not a hyperparameter"):
        parse_space({"seed": {"choices": [0, 1]}}, config)
    with pytest.raises(ConfigError, match="grid needs choices"):
        run_search(config, {"lr": {"low": 1e-3, "high": 1e-2}}, "/tmp/never", sampler="grid")
    assert with_values(config, {"core.channels": 4}).core["channels"] == 4
