"""Ablations: a variant equal to the base differs by exactly nothing, and on complex cells (energy
units) the expansion model without its nonlinearity (then linear in the pixels) loses beyond its
interval; layer removal is a real architecture change."""

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from cortexkit import data
from cortexkit.cli import app
from cortexkit.errors import ConfigError
from cortexkit.features import get_extractor
from cortexkit.pipelines.analyses import run_ablations
from cortexkit.pipelines.ridge import FeatureSpec
from cortexkit.simulate import simulate_v1

SMALL = "widths=[16,32,32,200]"


@pytest.fixture(scope="module")
def complex_cells(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ablations")
    data.save(simulate_v1(n_train=600, n_test=60, n_repeats=4, n_simple=0, n_complex=16, size=24, seed=5),
              tmp / "complex.zarr")
    return tmp


@pytest.mark.slow
def test_cli_ablations_on_complex_cells(complex_cells):
    out = complex_cells / "out"
    res = CliRunner().invoke(app, ["analyze", "ablations", str(complex_cells / "complex.zarr"), "--out", str(out),
                                   "-p", SMALL, "-p", "image_size=140", "-v", "linear:nonlinearity=none",
                                   "-v", "same:seed=0", "-v", "no-l3:remove=[3]", "--bootstrap", "200"])
    assert res.exit_code == 0, res.output
    table = pd.read_csv(out / "ablations.csv").set_index("model")
    assert table.loc["same", "diff vs base"] == 0 and table.loc["same", "median r"] == table.loc["base", "median r"]
    assert table.loc["linear", "diff ci_high"] < 0 and table.loc["linear", "p (Wilcoxon)"] < 0.01
    assert table.loc["no-l3", "median r"] != table.loc["base", "median r"]
    assert set(pd.read_csv(out / "units.csv")["model"]) == {"linear", "same", "no-l3"}


def test_layer_removal_changes_the_network():
    x = np.random.default_rng(0).random((3, 24, 24), dtype=np.float32)
    base = get_extractor("expansion", {"widths": [4, 8, 8, 10], "image_size": 140}).fit(x)
    cut = get_extractor("expansion", {"widths": [4, 8, 8, 10], "image_size": 140, "remove": [3]}).fit(x)
    assert base.weights_[1] is not None and cut.weights_[1] is None
    assert cut.weights_[2].shape[1] == 4  # layer 4 reads layer 2's 4 channels
    with pytest.raises(ConfigError, match="remove names layers among 2, 3 and 4"):
        get_extractor("expansion", {"remove": [5]}).fit(x)


def test_bad_variants(complex_cells):
    store = complex_cells / "complex.zarr"
    base = FeatureSpec(name="expansion", params={"widths": [4, 8, 8, 10], "image_size": 140})
    with pytest.raises(ConfigError, match="no variants"):
        run_ablations([store], complex_cells / "bad", base, {}, log=lambda m: None)
    with pytest.raises(ConfigError, match="'base' names the unchanged model"):
        run_ablations([store], complex_cells / "bad", base, {"base": {"seed": 1}}, log=lambda m: None)
    res = CliRunner().invoke(app, ["analyze", "ablations", str(store), "--out", str(complex_cells / "bad"),
                                   "--features", "gabor"])
    assert res.exit_code == 2 and "--variant is needed for 'gabor'" in res.output
    assert not (complex_cells / "bad").exists()


def test_only_the_local_model_keeps_a_corner_to_itself():
    """Locality: a change in one corner of the image reaches few of the convolutional model's output
    units (those whose receptive fields hold it) and every active unit of the fully connected control."""
    rng = np.random.default_rng(0)
    x = rng.random((3, 224, 224), dtype=np.float32)
    moved = x.copy()
    moved[:, :12, :12] += 0.5
    params = {"widths": [8, 16, 32, 64], "image_size": 224}
    for connectivity, low, high in (("local", 0.0, 0.2), ("full", 0.99, 1.0)):
        ex = get_extractor("expansion", {**params, "connectivity": connectivity}).fit(x)
        a, b = ex.transform(x), ex.transform(moved)
        assert a.shape == (3, 64 * 6 * 6)  # the control has as many features as the model
        active = (a > 0) | (b > 0)
        assert low <= (np.abs(a - b)[active] > 1e-6).mean() <= high
    with pytest.raises(ConfigError, match="global_pool has no positions"):
        get_extractor("expansion", {**params, "connectivity": "full", "global_pool": True}).fit(x)


@pytest.mark.slow
def test_local_connectivity_beats_the_fully_connected_control_on_complex_cells(complex_cells, tmp_path):
    """The expansion paper's locality result on simulated complex cells: measured median r 0.846
    (convolutional) against 0.648 (fully connected, same widths and feature count)."""
    tables = run_ablations([complex_cells / "complex.zarr"], tmp_path / "out",
                           FeatureSpec(name="expansion", params={"widths": [16, 32, 32, 64], "image_size": 224}),
                           {"connectivity=full": {"connectivity": "full"}}, n_bootstrap=200, log=lambda m: None)
    row = tables["ablations"].set_index("model").loc["connectivity=full"]
    assert row["diff ci_high"] < 0 and row["p (Wilcoxon)"] < 0.01
