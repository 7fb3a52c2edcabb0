"""Time-delayed encoding: the delay transform is exact at run boundaries, and on simulated movie fMRI
the haemodynamic delay is recovered from the command line and the delayed model beats no delay."""

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from cortexkit import data
from cortexkit.cli import app
from cortexkit.encoding import Delayer, delay_features, per_delay
from cortexkit.errors import ConfigError, DataError
from cortexkit.pipelines.analyses import run_delays
from cortexkit.pipelines.ridge import encoding_config
from cortexkit.simulate import simulate_movie_fmri


def test_delays_shift_within_runs_only():
    X = np.arange(12, dtype=float).reshape(6, 2)  # rows 0..5
    runs = np.array([0, 0, 0, 1, 1, 1])
    out = delay_features(X, [0, 2], runs)
    np.testing.assert_array_equal(out[:, :2], X)
    # two samples back, zero at the first two samples of each run (nothing from run 0 reaches run 1)
    np.testing.assert_array_equal(out[:, 2:], [[0, 0], [0, 0], [0, 1], [0, 0], [0, 0], [6, 7]])
    coef = np.arange(8.0).reshape(2, 4)
    np.testing.assert_array_equal(per_delay(coef, [0, 2])[1, 1], [6, 7])
    assert Delayer([1, 3]).fit(X).transform(X).shape == (6, 4)
    with pytest.raises(ConfigError, match="distinct non-negative integers"):
        delay_features(X, [1, 1])
    with pytest.raises(DataError, match="not consecutive"):
        delay_features(X, [1], np.array([0, 1, 0, 1, 0, 1]))


@pytest.fixture(scope="module")
def movie(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("movie")
    data.save(simulate_movie_fmri(n_train_runs=6, run_length=80, n_units=20, size=24, hrf_peak=6.0, seed=1),
              tmp / "movie.zarr")
    return tmp


def test_cli_recovers_the_haemodynamic_delay(movie):
    ds = data.load(movie / "movie.zarr")
    assert ds.attrs["true_delay"] == 3 and "run" in ds.coords  # the run coordinate survives the store
    out = movie / "out"
    res = CliRunner().invoke(app, ["analyze", "delays", str(movie / "movie.zarr"), "--out", str(out),
                                   "--delays", "0-6", "-p", "spacing=2", "--bootstrap", "200"])
    assert res.exit_code == 0, res.output
    assert "recovered delay (most weight): 3 samples; true delay: 3" in (out / "delays.md").read_text()
    summary = pd.read_csv(out / "summary.csv").set_index("model")
    fir, none = summary.loc["delays 0-6"], summary.loc["no delay (0)"]
    assert fir["ci_low"] > none["ci_high"]  # the delayed model beats no delay beyond the interval
    assert fir["median r"] > 0.4
    delays = pd.read_csv(out / "delays.csv")
    assert delays.loc[delays["single-delay CV r2"].idxmax(), "delay"] == 3
    assert (out / "report.html").is_file()


@pytest.mark.slow
def test_another_delay_is_recovered_too(movie, tmp_path):
    """A slower response (peak at 10 s, 5 TRs) moves the recovered delay with it: nothing is fixed at 3."""
    data.save(simulate_movie_fmri(n_train_runs=6, run_length=80, n_units=20, size=24, hrf_peak=10.0, seed=2),
              tmp_path / "slow.zarr")
    tables = run_delays(tmp_path / "slow.zarr", tmp_path / "out", encoding_config(features="gabor", params={"spacing": 2.0}),
                        delays=range(8),
                        n_bootstrap=50, log=lambda m: None)
    assert tables["delays"].attrs["recovered"] == 5


def test_recordings_without_runs_are_refused(small_store, tmp_path):
    with pytest.raises(DataError, match="no 'run' coordinate on trials"):
        run_delays(small_store, tmp_path / "out", encoding_config(features="pixel_pca"), log=lambda m: None)
    with pytest.raises(ConfigError, match="one feature space"):
        run_delays(small_store, tmp_path / "out", encoding_config(features="pixel_pca,gabor"), log=lambda m: None)
    assert not (tmp_path / "out").exists()
