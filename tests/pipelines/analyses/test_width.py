"""The expansion width sweep: nested widths are the expansion model's own features, and on units
that read the first 30 channels of a random expansion layer the score rises up to width 30 and
saturates there."""

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from cortexkit import data
from cortexkit.cli import app
from cortexkit.data.model import make_dataset
from cortexkit.errors import ConfigError
from cortexkit.features import get_extractor
from cortexkit.metrics import effective_dimensionality
from cortexkit.pipelines.analyses import run_width_sweep
from cortexkit.simulate import natural_image_crops
from cortexkit.simulate.stimuli import replace_copies

SMALL = {"widths": [8, 16, 16, 300], "image_size": 140}
TRUE_WIDTH = 30


def test_nested_widths_are_the_models_own_features():
    x = natural_image_crops(6, 32, seed=1)
    wide = get_extractor("expansion", SMALL).fit(x).extract(x)["expansion"]
    narrow = get_extractor("expansion", {**SMALL, "widths": [8, 16, 16, TRUE_WIDTH]}).fit(x).extract(x)["expansion"]
    np.testing.assert_array_equal(narrow, wide[:, :TRUE_WIDTH])


def test_effective_dimensionality_matches_pca():
    from sklearn.decomposition import PCA

    x = np.random.default_rng(0).standard_normal((120, 40)) * np.linspace(0.1, 3, 40)
    v = PCA().fit(x).explained_variance_
    assert effective_dimensionality(x) == pytest.approx(v.sum() ** 2 / (v**2).sum(), rel=1e-10)
    assert effective_dimensionality(x, standardize=True) == pytest.approx(
        effective_dimensionality(x / x.std(0)), rel=1e-10)
    assert effective_dimensionality(np.outer(np.arange(10.0), np.ones(5))) == pytest.approx(1.0)


@pytest.fixture(scope="module")
def readout_store(tmp_path_factory):
    """Units reading the first 30 channels of the sweep's own widest layer, noise on every trial."""
    tmp = tmp_path_factory.mktemp("width")
    n_train, n_test, reps = 500, 80, 4
    x = natural_image_crops(n_train + n_test, 32, seed=2)
    x[n_train:] = replace_copies(x[:n_train], x[n_train:], lambda k, seed: natural_image_crops(k, 32, seed=seed), 2)
    f = get_extractor("expansion", SMALL).fit(x[:n_train]).extract(x)["expansion"][:, :TRUE_WIDTH]
    f = (f - f[:n_train].mean(0)) / (f[:n_train].std(0) + 1e-9)
    rng = np.random.default_rng(3)
    signal = f @ rng.standard_normal((TRUE_WIDTH, 20)) / np.sqrt(TRUE_WIDTH)
    split = np.r_[["train"] * n_train, ["test"] * n_test]
    counts = np.where(split == "test", reps, 1)
    ids = np.repeat(np.arange(len(x)), counts)
    responses = signal[ids] + 0.5 * rng.standard_normal((len(ids), 20))
    data.save(make_dataset(x, responses.astype(np.float32), ids, split), tmp / "readout.zarr")
    return tmp


@pytest.mark.slow  # over 10 s on 2 cores; CI runs it
def test_cli_finds_the_saturation_width(readout_store):
    out = readout_store / "sweep"
    res = CliRunner().invoke(app, ["analyze", "width", str(readout_store / "readout.zarr"), "--out", str(out),
                                   "--widths", "3,10,30,100,300", "-p", "widths=[8,16,16,300]",
                                   "-p", "image_size=140", "--bootstrap", "200"])
    assert res.exit_code == 0, res.output
    table = pd.read_csv(out / "widths.csv").set_index("width")
    r = table["median r"]
    assert r[3] < r[10] < r[30]  # rises while true channels are missing
    assert "saturation width (95% of the best median r): 30" in (out / "widths.md").read_text()
    # Best once every true channel is in; wider layers only add channels the units ignore (with 500
    # training images and one penalty per unit, they cost a little).
    assert r.idxmax() == 30 and r[30] > 0.9
    assert (table["ci_low"] < r).all() and (r < table["ci_high"]).all()
    assert table["r2/ceiling"].notna().all()  # test repeats give a ceiling
    assert (out / "report.html").is_file() and (out / "figures" / "widths.png").is_file()
    units = pd.read_csv(out / "units.csv")
    assert len(units) == 5 * 20


def test_bad_sweeps(small_store, tmp_path):
    store = small_store  # refused before any feature is computed: any store will do
    with pytest.raises(ConfigError, match="positive channel counts"):
        run_width_sweep([store], tmp_path / "bad", widths=[0, 10], log=lambda m: None)
    with pytest.raises(ConfigError, match="leave `layers` and `global_pool` unset"):
        run_width_sweep([store], tmp_path / "bad", params={"layers": "all"}, log=lambda m: None)
    with pytest.raises(ConfigError, match="distinct file names"):
        run_width_sweep([store, store], tmp_path / "bad", widths=[3], params=SMALL, log=lambda m: None)
    assert not (tmp_path / "bad").exists()
