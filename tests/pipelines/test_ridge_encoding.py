"""The encoding flow end to end, including the acceptance figures on the demo-sized recording."""

import os

import numpy as np
import pandas as pd
import pytest

from cortexkit import data
from cortexkit.evaluation import load_arrays, score_predictions
from cortexkit.pipelines import EncodingConfig, FeatureSpec, evaluate_run, fit_run
from cortexkit.errors import DataError


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory, demo_v1):
    """The demo's fit and evaluation: 2000 training images, 100 test images x 10 repeats."""
    run = tmp_path_factory.mktemp("demo")
    data.save(demo_v1, run / "data.zarr")
    # no permutation p-values (tested in test_significance): the demo's 100 units x 3 models x 1000 shuffles
    fit_run(run / "data.zarr", run, EncodingConfig(permutations=0), log=lambda m: None)
    return run, evaluate_run(run, log=lambda m: None)


def _median(results, model, cell_type, metric):
    sel = (results["model"] == model) & (results["cell_type"] == cell_type)
    return results.loc[sel, metric].median()


def test_complex_cells_explained_by_gabor_energy(demo_run):
    _, results = demo_run
    assert _median(results, "gabor", "complex", "feve") >= 0.8
    # Pixels cannot express a phase-invariant cell.
    assert _median(results, "pixels", "complex", "feve") < 0.2


def test_simple_cells_explained_by_gabor_features(demo_run):
    _, results = demo_run
    assert _median(results, "gabor", "simple", "feve") >= 0.8


def test_simple_cell_receptive_fields_recovered_from_pixels(demo_run):
    _, results = demo_run
    assert _median(results, "pixels", "simple", "rf_corr") >= 0.7
    assert _median(results, "pixel_pca", "simple", "rf_corr") >= 0.7


def test_scores_track_truth_and_respect_ceiling(demo_run):
    _, results = demo_run
    gabor = results[results["model"] == "gabor"]
    # r against the noisy average cannot exceed r against the truth by more than noise allows.
    assert (gabor["pearson"] <= np.sqrt(gabor["ceiling"]) + 0.05).all()
    assert gabor["pearson_true"].median() > 0.9
    assert (results["alpha"] > 0).all()


def test_results_table_is_tidy(demo_run):
    run, results = demo_run
    on_disk = pd.read_csv(run / "results.csv")
    assert len(on_disk) == 3 * 100  # model x unit
    assert {"model", "unit", "cell_type", "pearson", "r2", "feve", "fev", "ceiling", "normalized"} <= set(on_disk)
    summary = pd.read_csv(run / "summary.csv")
    assert set(summary["cell_type"]) == {"all", "simple", "complex"}
    row = summary[(summary["model"] == "gabor") & (summary["cell_type"] == "complex")].iloc[0]
    assert row["median_feve"] == pytest.approx(_median(results, "gabor", "complex", "feve"))


def test_config_records_provenance(demo_run):
    import yaml

    run, _ = demo_run
    cfg = yaml.safe_load((run / "config.yaml").read_text())
    assert cfg["encoding"]["seed"] == 0
    assert cfg["provenance"]["versions"]["torch"].startswith("2.")
    assert cfg["data"].endswith("data.zarr")


def test_resume_keeps_fitted_models_and_refits_on_change(tmp_path, small_v1):
    store = data.save(small_v1, tmp_path / "d.zarr")
    config = EncodingConfig(features=[FeatureSpec(name="pixels"), FeatureSpec(name="gabor")])
    fit_run(store, tmp_path / "run", config, log=lambda m: None)
    models = tmp_path / "run" / "models"
    stamps = {p.name: os.stat(p).st_mtime_ns for p in models.iterdir()}
    messages = []
    fit_run(store, tmp_path / "run", config, log=messages.append)
    assert {p.name: os.stat(p).st_mtime_ns for p in models.iterdir()} == stamps
    assert all("kept" in m for m in messages)
    # New data at the same path: the models are stale and are refitted.
    changed = small_v1.copy(deep=True)
    changed["responses"][:] = changed["responses"].values[::-1]
    data.save(changed, store)
    messages.clear()
    fit_run(store, tmp_path / "run", config, log=messages.append)
    assert any("changed" in m for m in messages)
    assert all(os.stat(models / n).st_mtime_ns != t for n, t in stamps.items())


def test_fit_is_reproducible(tmp_path, small_v1):
    store = data.save(small_v1, tmp_path / "d.zarr")
    config = EncodingConfig(features=[FeatureSpec(name="pixel_pca", params={"n_components": 20})])
    fit_run(store, tmp_path / "a", config, log=lambda m: None)
    fit_run(store, tmp_path / "b", config, log=lambda m: None)
    a, b = (load_arrays(tmp_path / r / "models" / "pixel_pca.npz") for r in "ab")
    np.testing.assert_array_equal(a["prediction"], b["prediction"])
    np.testing.assert_array_equal(a["alpha"], b["alpha"])


def test_time_resolved_fit_recovers_each_units_latency(tmp_path):
    """Responses in 20 ms bins with a known latency per unit: ridge per unit and bin scores
    best in the bin of the unit's latency, results and summary are per bin, the report draws r over time."""
    from cortexkit.report import write_report
    from cortexkit.simulate import simulate_v1
    from cortexkit.simulate.time_course import with_time_course

    base = simulate_v1(n_train=400, n_test=30, n_repeats=5, n_simple=4, n_complex=4, size=12, seed=7)
    ds = with_time_course(base, n_bins=10, bin_width=0.02, latency_range=(0.04, 0.16), seed=1)
    store = data.save(ds, tmp_path / "t.zarr")
    fit_run(store, tmp_path / "run", EncodingConfig(features=[FeatureSpec(name="gabor")], permutations=0), log=lambda m: None)
    results = evaluate_run(tmp_path / "run", log=lambda m: None)
    assert len(results) == 8 * 10 and set(results["time_bin"]) == set(range(10))
    # the temporal kernel the models recover: the spread of each bin's predictions over the test stimuli
    model = load_arrays(tmp_path / "run" / "models" / "gabor.npz")
    recovered = model["prediction"].std(axis=0).reshape(8, 10)  # targets are unit-major: (unit, bin)
    np.testing.assert_array_equal(recovered.argmax(axis=1), ds["latency_bin"].values)
    for u in range(8):
        assert np.corrcoef(recovered[u], ds["true_time_course"].values[u])[0, 1] > 0.9
    # scores follow: a unit is predicted in the bins its kernel covers, not before its latency
    r = results["pearson"].to_numpy().reshape(8, 10)
    kernel = ds["true_time_course"].values
    assert np.median(r[kernel > 0.5]) > 0.5 and np.median(np.abs(r[kernel == 0])) < 0.3
    summary = pd.read_csv(tmp_path / "run" / "summary.csv")
    per_bin = summary[summary["time"].astype(str) != "all"]
    np.testing.assert_allclose(np.sort(per_bin["time"].astype(float)), 0.02 * np.arange(10), atol=1e-9)
    write_report(tmp_path / "run")
    assert (tmp_path / "run" / "figures" / "r_over_time.png").stat().st_size > 5000


def test_score_predictions_without_repeats(small_v1):
    test = data.select(small_v1, "test")
    single = test.isel(trial=np.unique(test["stimulus_id"].values, return_index=True)[1])
    avg = data.repeat_average(single).values
    table = score_predictions(single, avg, single["stimulus"].values, ceiling=None)
    np.testing.assert_allclose(table["pearson"], 1.0)
    assert table["feve"].isna().all() and table["ceiling"].isna().all()


def test_evaluate_needs_a_run(tmp_path):
    with pytest.raises(DataError, match="not a run directory"):
        evaluate_run(tmp_path)


def test_constant_units_are_named_left_out_of_medians_and_counted(tmp_path, small_v1):
    """A dead (all-zero) and a constant unit: no CV score of 1.0 or -1e16, NaN scores, medians over
    the others with the count in the summary, and the units named in the log."""
    from cortexkit import data

    ds = small_v1.copy(deep=True)
    resp = ds["responses"].values.copy()
    resp[:, 0], resp[:, 1] = 0.0, 3.0
    ds["responses"] = (ds["responses"].dims, resp)
    store = data.save(ds, tmp_path / "dead.zarr")
    messages = []
    fit_run(store, tmp_path / "run", EncodingConfig(features=[FeatureSpec(name="pixels"), FeatureSpec(name="pixel_pca")]),
            log=messages.append)
    dead = [str(u) for u in ds["unit"].values[:2]]
    assert any("2 unit(s) have constant responses" in m and all(u in m for u in dead) for m in messages)
    model = load_arrays(tmp_path / "run" / "models" / "pixels.npz")
    assert np.isnan(model["cv_score"][:2]).all() and np.isfinite(model["cv_score"][2:]).all()
    results = evaluate_run(tmp_path / "run", log=lambda m: None)
    assert results.loc[results["unit"].astype(str).isin(dead), "pearson"].isna().all()
    summary = pd.read_csv(tmp_path / "run" / "summary.csv")
    n = ds.sizes["unit"]
    assert (summary.loc[summary["cell_type"] == "all", ["n_units", "n_scored"]].values == [n, n - 2]).all()
    assert summary.filter(like="median_").notna().all().all()


def test_a_second_fit_adds_models_and_other_data_is_refused(tmp_path, small_store, small_v1):
    from cortexkit import data
    from cortexkit.errors import ConfigError

    run = tmp_path / "run"
    fit_run(small_store, run, EncodingConfig(features=[FeatureSpec(name="pixels")]), log=lambda m: None)
    messages = []
    fit_run(small_store, run, EncodingConfig(features=[FeatureSpec(name="pixel_pca", params={"n_components": 5})]),
            log=messages.append)
    assert any("already holds pixels: kept" in m for m in messages)
    results = evaluate_run(run, log=lambda m: None)
    assert set(results["model"]) == {"pixels", "pixel_pca"}  # the earlier model is still evaluated
    other = data.save(small_v1.isel(unit=slice(0, 5)), tmp_path / "other.zarr")
    with pytest.raises(ConfigError, match="holds models of .*small.zarr; fit .*other.zarr into another --out"):
        fit_run(other, run, EncodingConfig(features=[FeatureSpec(name="pixels")]), log=lambda m: None)
    fit_run(other, run, EncodingConfig(features=[FeatureSpec(name="pixels")]), overwrite=True, log=lambda m: None)
    assert set(evaluate_run(run, log=lambda m: None)["model"]) == {"pixels"}


def test_two_writers_of_one_run_are_refused(tmp_path, small_store):
    import subprocess
    import sys

    from cortexkit.errors import ConfigError

    run = tmp_path / "run"
    run.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        (run / ".lock").write_text(str(holder.pid))  # a live process holds the run
        with pytest.raises(ConfigError, match=f"being written by another process \\(pid {holder.pid}\\)"):
            fit_run(small_store, run, EncodingConfig(features=[FeatureSpec(name="pixels")]), log=lambda m: None)
    finally:
        holder.kill()
        holder.wait()
    # the holder is gone: its stale lock is taken over and released after the fit
    fit_run(small_store, run, EncodingConfig(features=[FeatureSpec(name="pixels")]), log=lambda m: None)
    assert not (run / ".lock").exists() and (run / "models" / "pixels.npz").exists()
