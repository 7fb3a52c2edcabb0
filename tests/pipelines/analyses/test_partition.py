"""Variance partitioning: the set-theoretic regions are exact on known subset R², and from the
command line they recover a simulation's per-unit unique and shared variance."""

import itertools

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from cortexkit import data
from cortexkit.cli import app
from cortexkit.errors import ConfigError
from cortexkit.pipelines.analyses import partition, run_partition
from cortexkit.pipelines.ridge import EncodingConfig, encoding_config
from cortexkit.simulate import simulate_partition

HALVES = {"features": [{"name": "pixels", "label": "left", "params": {"region": [0, 1, 0, 0.5]}},
                       {"name": "pixels", "label": "right", "params": {"region": [0, 1, 0.5, 1]}}]}


@pytest.mark.parametrize("labels", [["a", "b"], ["a", "b", "c"], ["a", "b", "c", "d"]])
def test_regions_are_recovered_exactly_from_subset_r2(labels):
    """Draw every region, build each subset's R² as the sum of the regions it touches, invert."""
    rng = np.random.default_rng(len(labels))
    regions = {frozenset(t): rng.uniform(0, 0.2, 5) for n in range(1, len(labels) + 1)
               for t in itertools.combinations(labels, n)}
    r2_of = {frozenset(s): sum(v for t, v in regions.items() if t & frozenset(s))
             for n in range(1, len(labels) + 1) for s in itertools.combinations(labels, n)}
    out = partition(r2_of, labels)
    assert len(out) == 2 ** len(labels) - 1
    for t, v in regions.items():
        np.testing.assert_allclose(out["&".join(x for x in labels if x in t)], v, atol=1e-12)
    with pytest.raises(ConfigError, match="missing"):
        partition({frozenset(["a"]): np.zeros(5)}, ["a", "b"])


@pytest.fixture(scope="module")
def halves(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("partition")
    data.save(simulate_partition(n_train=700, n_test=120, n_units=24, seed=3), tmp / "halves.zarr")
    (tmp / "halves.yaml").write_text(yaml.safe_dump(HALVES))
    return tmp


def test_cli_recovers_the_simulated_unique_and_shared_variance(halves):
    out = halves / "out"
    res = CliRunner().invoke(app, ["analyze", "partition", str(halves / "halves.zarr"), "--out", str(out), "--config",
                                   str(halves / "halves.yaml"), "--n-iter", "8", "--bootstrap", "200"])
    assert res.exit_code == 0, res.output
    summary = pd.read_csv(out / "summary.csv").set_index("region")
    assert list(summary.index) == ["left", "right", "left&right"]
    # Every region per unit within 0.08 of the truth on average, and ordered across units like it.
    assert (summary["mean abs error"] < 0.08).all(), summary
    assert (summary["r with truth"] > 0.9).all(), summary
    # The intervals are real intervals around the estimate.
    assert (summary["ci_low"] < summary["mean r2"]).all() and (summary["mean r2"] < summary["ci_high"]).all()
    per_unit = pd.read_csv(out / "partition.csv")
    assert len(per_unit) == 3 * 24 and per_unit["joint_split_r2"].notna().sum() == 2 * 24
    assert (out / "report.html").is_file() and (out / "figures" / "partition.png").is_file()


def test_a_space_that_drives_nothing_gets_nothing(tmp_path):
    """Units driven by the left half alone: the right half's unique and the shared regions are zero
    within their intervals, and the left one carries all of the explainable variance."""
    data.save(simulate_partition(n_train=600, n_test=120, n_units=16, mix=[1.0, 0.0, 0.0], seed=5), tmp_path / "left.zarr")
    tables = run_partition(tmp_path / "left.zarr", tmp_path / "out", EncodingConfig(**HALVES), n_iter=6,
                           n_bootstrap=300, log=lambda m: None)
    summary = tables["summary"].set_index("region")
    for region in ("right", "left&right"):
        assert abs(summary.loc[region, "mean r2"]) < 0.03, summary
        assert summary.loc[region, "ci_low"] < 0.01, summary
    assert summary.loc["left", "mean r2"] > 0.8 * summary.loc["left", "truth mean"]


def test_report_without_a_truth(halves, tmp_path):
    """Spaces named otherwise than the simulation's truth: no truth columns, the page shows the
    distribution over units instead."""
    from cortexkit.report import write_partition_report

    renamed = {"features": [dict(f, label=f["label"][0].upper()) for f in HALVES["features"]]}
    tables = run_partition(halves / "halves.zarr", tmp_path / "out", EncodingConfig(**renamed), n_iter=4,
                           n_bootstrap=20, log=lambda m: None)
    assert "truth" not in tables["partition"] and list(tables["summary"]["region"]) == ["L", "R", "L&R"]
    page = write_partition_report(tables, tmp_path / "out")
    assert (tmp_path / "out" / "figures" / "partition.png").stat().st_size > 1000 and "L&amp;R" in page.read_text()


def test_bad_spaces(halves):
    store = halves / "halves.zarr"
    with pytest.raises(ConfigError, match="takes 2 to 4 feature spaces"):
        run_partition(store, halves / "bad1", encoding_config(features="pixels"), log=lambda m: None)
    with pytest.raises(ConfigError, match="one layer per space"):
        run_partition(store, halves / "bad2", encoding_config(features="pixels,expansion", layers="all",
                                                              params={"image_size": 140}), log=lambda m: None)
    assert not (halves / "bad1").exists() and not (halves / "bad2").exists()


def test_fit_banded_joins_the_spaces_and_splits_the_prediction(halves):
    """`fit --banded`: one joint model over the run's spaces, scored like any model, with each unit's
    R² split per space (product measure: the shares sum to the joint R² up to the centering)."""
    out = halves / "fit"
    res = CliRunner().invoke(app, ["fit", str(halves / "halves.zarr"), "--out", str(out), "--config",
                                   str(halves / "halves.yaml"), "--banded"])
    assert res.exit_code == 0, res.output
    results = pd.read_csv(out / "results.csv")
    medians = results.groupby("model")["r2"].median()
    assert medians["banded"] > max(medians["left"], medians["right"]) + 0.1
    banded = results[results["model"] == "banded"]
    np.testing.assert_allclose(banded["r2_share.left"] + banded["r2_share.right"], banded["r2"], atol=0.02)
    # A unit driven mostly by the left half gets most of its share from the left space.
    truth = banded["true_partition.left"] - banded["true_partition.right"]
    assert np.corrcoef(truth, banded["r2_share.left"] - banded["r2_share.right"])[0, 1] > 0.8
    with pytest.raises(ConfigError, match="banded.models names nope"):
        from cortexkit.pipelines import fit_run

        fit_run(halves / "halves.zarr", halves / "fit_bad", EncodingConfig(**HALVES, banded={"models": ["nope"]}),
                log=lambda m: None)
