"""Linear probe: the labelled sets are offline and leak-free, and the probe's accuracy is real (digits
from pixels as scikit-learn's own ridge classifier gets it; photos far above chance; shuffled labels
at chance)."""

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from cortexkit.cli import app
from cortexkit.data.overlap import copies_of
from cortexkit.errors import ConfigError
from cortexkit.pipelines.analyses import labelled_images, run_probe
from cortexkit.pipelines.ridge import encoding_config


def test_labelled_sets():
    digits = labelled_images("digits", size=16)
    (xa, ya), (xb, yb) = digits["train"], digits["test"]
    assert len(ya) + len(yb) == 1797 and xa.shape[1:] == (16, 16) and 0 <= xa.min() and xa.max() <= 1
    assert set(np.bincount(yb)) <= {44, 45, 46}  # stratified: a quarter of each class
    photos = labelled_images("photos", size=24, n_per_class=20)
    (xa, ya), (xb, yb) = photos["train"], photos["test"]
    assert len(photos["classes"]) == 15 and np.bincount(yb).tolist() == [5] * 15
    assert not copies_of(xa, xb).any()  # no held-out crop nearly copies a training crop
    with pytest.raises(ConfigError, match="--dataset must be one of"):
        labelled_images("cifar")


def test_cli_probe_on_digits_matches_sklearn(tmp_path):
    from sklearn.linear_model import RidgeClassifierCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    res = CliRunner().invoke(app, ["analyze", "probe", "--out", str(tmp_path / "out"), "--features", "pixels",
                                   "--size", "16", "--bootstrap", "200"])
    assert res.exit_code == 0, res.output
    row = pd.read_csv(tmp_path / "out" / "probe.csv").iloc[0]
    (xa, ya), (xb, yb) = labelled_images("digits", size=16)["train"], labelled_images("digits", size=16)["test"]
    ref = make_pipeline(StandardScaler(), RidgeClassifierCV(alphas=np.logspace(-2, 6, 17), scoring="accuracy"))
    ref.fit(xa.reshape(len(xa), -1), ya)
    assert row["test accuracy"] == pytest.approx(ref.score(xb.reshape(len(xb), -1), yb), abs=1e-12)
    assert row["test accuracy"] > 0.9 and row["p (binomial)"] < 1e-10
    assert row["ci_low"] < row["test accuracy"] < row["ci_high"]


def test_photos_far_above_chance(tmp_path):
    table = run_probe(tmp_path / "out", encoding_config(features="gabor"), dataset="photos", size=24, n_per_class=40,
                      n_bootstrap=100, log=lambda m: None)["probe"]
    row = table.iloc[0]
    assert row["chance"] == pytest.approx(1 / 15)
    assert row["test accuracy"] > 4 * row["chance"] and row["p (binomial)"] < 1e-6
