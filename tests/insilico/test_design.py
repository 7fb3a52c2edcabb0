"""Experiment design: the next stimuli by ensemble disagreement or predicted drive, written as a set."""

import numpy as np
import pandas as pd
import pytest

from cortexkit import data
from cortexkit.errors import ConfigError, DataError
from cortexkit.insilico import design_experiment, design_scores
from cortexkit.pipelines import EncodingConfig, FeatureSpec, fit_run
from cortexkit.pipelines.insilico import ensemble, load_pool


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    from cortexkit.simulate import simulate_v1

    out = tmp_path_factory.mktemp("design")
    store = data.save(simulate_v1(n_train=300, n_test=20, n_simple=6, n_complex=6, size=16, seed=3), out / "v1.zarr")
    features = [FeatureSpec(name="gabor"), FeatureSpec(name="pixel_pca"), FeatureSpec(name="pixels")]
    fit_run(store, out / "run", EncodingConfig(features=features), log=lambda m: None)
    # the same cells (seed 3) and their true rates on a larger set of images: the candidate pool
    pool = simulate_v1(n_train=1200, n_test=1, n_simple=6, n_complex=6, size=16, seed=3)
    pool_store = data.save(pool, out / "pool.zarr")
    return out / "run", pool_store, pool


def test_scores_follow_their_definitions(setup):
    run, pool_store, _ = setup
    models = ensemble([run])
    assert [m.name for m in models] == ["gabor", "pixel_pca", "pixels"]
    stimuli, labels = load_pool(pool_store, models[0])
    preds = np.stack([m.predict(stimuli) for m in models])
    scale = preds.mean(0).std(0)
    expected = np.mean(preds.var(0) / scale**2, axis=1)
    np.testing.assert_allclose(design_scores(preds, "disagreement"), expected, rtol=1e-5)
    table = design_experiment(models, stimuli, 10)
    assert list(table["rank"]) == list(range(1, 11)) and table["score"].is_monotonic_decreasing
    assert table["score"].iloc[0] == pytest.approx(expected.max(), rel=1e-5)
    assert table["disagreement"].min() > np.quantile(expected, 0.9)  # the chosen are the contested ones


def test_drive_picks_images_the_true_unit_answers_most(setup):
    run, pool_store, pool = setup
    models = ensemble([f"{run}:gabor"])
    stimuli, _ = load_pool(pool_store, models[0])
    true = pool["true_rate"].values
    for unit in (0, 7):  # a simple and a complex cell
        table = design_experiment(models, stimuli, 10, objective="drive", units=[unit])
        chosen = true[table["index"].to_numpy(), unit]
        assert chosen.mean() > np.quantile(true[:, unit], 0.95), (unit, chosen.mean())
        assert f"predicted_{models[0].units[unit]}" in table
    with pytest.raises(ConfigError, match="at least two models"):
        design_experiment(models, stimuli, 5, objective="disagreement")


def test_the_design_command_writes_a_stimulus_set(setup, tmp_path):
    import imageio.v3 as iio
    from typer.testing import CliRunner

    from cortexkit.cli import app

    run, pool_store, _ = setup
    result = CliRunner().invoke(app, ["insilico", "design", str(run), "--pool", str(pool_store), "--n", "12", "--out",
                                      str(tmp_path / "next")])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "next" / "stimuli.csv", dtype={"source": str})
    assert len(table) == 12 and list(table["rank"]) == list(range(1, 13))
    stimuli, labels = load_pool(pool_store, ensemble([f"{run}:gabor"])[0])
    for row in table.itertuples():
        pixels = iio.imread(tmp_path / "next" / "png" / row.file)
        assert row.file.startswith(f"{row.rank:03d}_") and row.source == labels[row.index]
        np.testing.assert_allclose(pixels / 255.0, stimuli[row.index], atol=0.5 / 255 + 1e-6)
    # chosen images are not near-duplicates of each other
    flat = stimuli[table["index"]].reshape(12, -1)
    corr = np.corrcoef(flat)[~np.eye(12, dtype=bool)]
    assert corr.max() <= 0.95


def test_a_folder_of_images_is_a_pool(setup, tmp_path):
    import imageio.v3 as iio

    run, _, _ = setup
    rng = np.random.default_rng(0)
    folder = tmp_path / "candidates"
    folder.mkdir()
    iio.imwrite(folder / "a.png", (rng.random((40, 60, 3)) * 255).astype(np.uint8))  # colour, wide
    iio.imwrite(folder / "b.png", (rng.random((16, 16)) * 255).astype(np.uint8))  # grey, the model's size
    iio.imwrite(folder / "c.png", (rng.random((30, 20, 4)) * 255).astype(np.uint8))  # RGBA, tall
    (folder / "notes.txt").write_text("not an image")
    model = ensemble([f"{run}:gabor"])[0]
    stimuli, labels = load_pool(folder, model)
    assert stimuli.shape == (3, 16, 16) and list(labels) == ["a.png", "b.png", "c.png"]
    np.testing.assert_allclose(stimuli[1], iio.imread(folder / "b.png") / 255.0, atol=1e-6)  # untouched
    assert 0 <= stimuli.min() and stimuli.max() <= 1
    (folder / "d.png").write_bytes(b"not a png")
    with pytest.raises(DataError, match="d.png"):
        load_pool(folder, model)
    with pytest.raises(DataError, match="no such pool"):
        load_pool(tmp_path / "missing", model)


def test_an_ensemble_must_share_its_units(setup, tmp_path):
    from cortexkit.simulate import simulate_v1

    run, _, _ = setup
    other = data.save(simulate_v1(n_train=100, n_test=10, n_simple=3, n_complex=3, size=16, seed=5), tmp_path / "o.zarr")
    fit_run(other, tmp_path / "other", EncodingConfig(features=[FeatureSpec(name="gabor")]), log=lambda m: None)
    with pytest.raises(ConfigError, match="different units"):
        design_experiment(ensemble([f"{run}:gabor", tmp_path / "other"]), np.zeros((3, 16, 16), np.float32), 1)
