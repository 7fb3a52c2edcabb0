"""The Sensorium 2023 submission: predictions of a trained run for a test tier, read from the mouse
folder and prepared as the training data were, in the starter kit's parquet layout; on the oracle
trials they equal the run's own test predictions."""

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from cortexkit import data
from cortexkit.cli import app
from cortexkit.encoding.predictor import PredictorConfig, SessionSpec
from cortexkit.errors import ConfigError, DataError
from cortexkit.pipelines import write_submission
from cortexkit.pipelines.predictor import load_trained, train_predictor
from tests.data.readers.test_sensorium2023 import N, make_mouse

TIERS = ["train"] * 6 + ["oracle"] * 4 + ["live_test_main"] * 2 + ["final_test_main"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("submission")
    make_mouse(tmp / "mouse", TIERS, [20] * 10 + [20, 17, 20], repeat_of={7: 6, 9: 8})
    store = data.convert(tmp / "mouse", tmp / "m.zarr", "sensorium2023")
    cfg = PredictorConfig(data=[SessionSpec(path=str(store), key="A")], core={"kind": "conv3d", "channels": 4, "layers": 1,
                          "first_kernel": [3, 3, 3]}, shifter=True, modulator=True, epochs=2, batch_size=4, skip_frames=5,
                          val_fraction=0.2)
    train_predictor(cfg, tmp / "run", log=lambda m: None)
    return tmp


def test_oracle_rows_equal_the_runs_test_predictions(trained):
    path = write_submission(trained / "run", {"A": str(trained / "mouse")}, trained / "sub", tier="oracle", log=lambda m: None)
    table = pd.read_parquet(path)
    assert list(table.columns) == ["mouse", "trial_indices", "prediction", "neuron_ids"]
    assert table["trial_indices"].tolist() == [6, 7, 8, 9] and set(table["mouse"]) == {"mouse"}
    run = load_trained(trained / "run")
    expected, _ = run.predictions(run.model, "A", "test")  # the oracle trials, in file order
    for row, pred in zip(table.itertuples(), expected):
        got = np.array([np.asarray(v) for v in row.prediction])
        assert got.shape == (N, 20 - 5)
        np.testing.assert_allclose(got, pred[:, 5:], rtol=1e-5, atol=1e-6)


def test_test_tier_file_in_the_starter_kit_layout(trained):
    res = CliRunner().invoke(app, ["evaluate", str(trained / "run"), "--submission", f"A={trained / 'mouse'}"])
    assert res.exit_code == 0, res.output
    path = trained / "run" / "submission" / "predictions_file_live_test_main_main_track.parquet.brotli"
    table = pd.read_parquet(path)
    assert table["trial_indices"].tolist() == [10, 11]
    lengths = [np.array([np.asarray(v) for v in p]).shape for p in table["prediction"]]
    assert lengths == [(N, 15), (N, 12)]  # each trial's own length (the second ends after 17 frames), minus 5
    np.testing.assert_array_equal(np.asarray(table["neuron_ids"][0]), np.arange(N) + 1)
    final = write_submission(trained / "run", {"A": str(trained / "mouse")}, trained / "sub", tier="final_test_main",
                             log=lambda m: None)
    assert final.name == "predictions_file_final_test_main_main_track.parquet.brotli"
    assert pd.read_parquet(final)["trial_indices"].tolist() == [12]


def test_bad_requests_are_named(trained):
    with pytest.raises(ConfigError, match="no session 'B'"):
        write_submission(trained / "run", {"B": str(trained / "mouse")}, trained / "x", log=lambda m: None)
    with pytest.raises(DataError, match="no trials of tier 'live_test_bonus'"):
        write_submission(trained / "run", {"A": str(trained / "mouse")}, trained / "x", tier="live_test_bonus",
                         log=lambda m: None)
    with pytest.raises(ConfigError, match="tier must be one of"):
        write_submission(trained / "run", {"A": str(trained / "mouse")}, trained / "x", tier="test", log=lambda m: None)
    res = CliRunner().invoke(app, ["evaluate", str(trained / "run"), "--submission", str(trained / "mouse")])
    assert res.exit_code == 2 and "KEY=FOLDER" in res.output
