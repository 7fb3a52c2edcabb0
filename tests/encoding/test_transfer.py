"""Transfer across recordings: the population embedding and the choice of its sources by CV.

Ground truth: every recording's units read the same few latent image features (random pixel
projections), each through its own weights; a new recording with few training images is predicted far
better through the other recordings' fitted models than from the pixels alone, and a source whose units
read other latents is left out by cross-validation."""

import numpy as np
import pytest

from cortexkit import data
from cortexkit.encoding import PopulationEmbedding, RidgeCV
from cortexkit.encoding.ridge import ForwardBlocksRidgeCV
from cortexkit.errors import ConfigError, DataError
from cortexkit.features.cache import feature_key
from cortexkit.pipelines import EncodingConfig, FeatureSpec, evaluate_run, fit_run

SIZE = 12
QUIET = dict(log=lambda m: None)


def _pearson(a, b):
    a, b = a - a.mean(0), b - b.mean(0)
    return (a * b).sum(0) / np.sqrt((a * a).sum(0) * (b * b).sum(0))


def _images(n, seed):
    return np.random.default_rng(seed).random((n, SIZE, SIZE)).astype(np.float32)


LATENT = np.random.default_rng(0).standard_normal((4, SIZE * SIZE))  # the area's shared image features
OTHER = np.random.default_rng(1).standard_normal((4, SIZE * SIZE))  # what an unrelated recording reads


def _recording(n_train, n_test, n_units, seed, latent=LATENT, noise=0.3):
    images = _images(n_train + n_test, seed)
    z = images.reshape(len(images), -1) @ latent.T / SIZE
    weights = np.random.default_rng(seed + 100).standard_normal((latent.shape[0], n_units))
    rates = z @ weights
    responses = rates + noise * rates.std() * np.random.default_rng(seed + 200).standard_normal(rates.shape)
    names = [f"s{seed}_{i:04d}" for i in range(len(images))]
    return data.make_dataset(images, responses, names, ["train"] * n_train + ["test"] * n_test, stimulus=names,
                             unit=[f"r{seed}_{u}" for u in range(n_units)], attrs={"source": f"latent recording {seed}"})


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    root = tmp_path_factory.mktemp("transfer")
    out = {"a": data.save(_recording(500, 50, 12, seed=11), root / "a.zarr"),
           "b": data.save(_recording(500, 50, 10, seed=12), root / "b.zarr"),
           "unrelated": data.save(_recording(500, 50, 10, seed=13, latent=OTHER), root / "unrelated.zarr"),
           "new": data.save(_recording(40, 200, 8, seed=14), root / "new.zarr")}
    return out


@pytest.fixture(autouse=True)
def own_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("CORTEXKIT_CACHE", str(tmp_path_factory.getbasetemp() / "transfer-cache"))


def test_the_embedding_is_each_source_units_standardised_prediction(stores):
    """Column block of source ``a``: ridge of a's units on the base features (its own CV penalties), predicted
    for the new images and standardised by that prediction's mean and SD over a's stimuli."""
    emb = PopulationEmbedding(recordings=[str(stores["a"])], features="pixels", cv=3)
    new = np.asarray(data.open(stores["new"])["stimuli"].values)
    got = emb.fit(new).transform(new)
    src = data.load(stores["a"])
    x = np.asarray(src["stimuli"].values).reshape(len(src["stimulus"]), -1)
    y = np.asarray(data.repeat_average(src).transpose("stimulus", "unit").values)
    scale = np.sqrt(x.var(0).mean())
    ridge = RidgeCV(cv=3).fit(x / scale, y)
    fitted = ridge.predict(x / scale)
    want = (ridge.predict(new.reshape(len(new), -1) / scale) - fitted.mean(0)) / fitted.std(0)
    assert got.shape == (len(new), 12)
    np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-3)


def test_transfer_beats_the_recordings_own_fit_and_cv_leaves_the_unrelated_source_out(stores, tmp_path):
    config = EncodingConfig(features=[
        FeatureSpec(name="pixels"),
        FeatureSpec(name="population", params={"recordings": [str(stores[k]) for k in ("unrelated", "a", "b")],
                                               "features": ["pixels"], "cv": 3})], permutations=0)
    run = tmp_path / "run"
    fit_run(stores["new"], run, config, **QUIET)
    table = evaluate_run(run, **QUIET)
    r = table.groupby("model")["pearson"].median()
    assert r["population"] > 0.8 and r["population"] > r["pixels"] + 0.3, r  # the noise alone allows 0.96
    saved = np.load(run / "models" / "population.npz")
    names = list(saved["block_names"])
    kept = {names[i] for i in saved["blocks_kept"]}
    assert kept == {"a", "b"} and names == ["unrelated", "a", "b"], (names, kept)
    assert saved["columns"].sum() == 22 and not saved["columns"][:10].any()  # the unrelated block's columns


def test_source_fits_are_cached_and_follow_the_sources_content(stores, tmp_path, monkeypatch):
    new = np.asarray(data.open(stores["new"])["stimuli"].values)
    first = PopulationEmbedding(recordings=[str(stores["a"])], features="pixels", cv=3).fit(new).transform(new)
    calls = []
    original = RidgeCV.fit
    monkeypatch.setattr(RidgeCV, "fit", lambda self, *a, **k: calls.append(1) or original(self, *a, **k))
    again = PopulationEmbedding(recordings=[str(stores["a"])], features="pixels", cv=3).fit(new).transform(new)
    assert calls == [] and np.array_equal(first, again)  # the source's fit came from the cache
    key = feature_key(PopulationEmbedding(recordings=[str(stores["a"])], features="pixels", cv=3), new)
    changed = data.load(stores["a"])
    changed["responses"] = changed["responses"] * 2.0
    copy = data.save(changed, tmp_path / "a.zarr")
    moved = feature_key(PopulationEmbedding(recordings=[str(copy)], features="pixels", cv=3), new)
    assert moved != key  # other responses: other cached features
    PopulationEmbedding(recordings=[str(copy)], features="pixels", cv=3).fit(new).transform(new)
    assert calls  # ... and a new fit


def test_forward_blocks_equal_ridge_on_the_kept_columns():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((120, 30))
    y = x[:, :5] @ rng.standard_normal((5, 4)) + 0.1 * rng.standard_normal((120, 4))
    model = ForwardBlocksRidgeCV(blocks=[10, 10, 10], cv=4).fit(x, y)
    assert list(model.blocks_) == [0] and model.columns_[:10].all() and not model.columns_[10:].any()
    alone = RidgeCV(cv=4).fit(x[:, :10], y)
    np.testing.assert_allclose(model.predict(x), alone.predict(x[:, :10]), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(model.alpha_, alone.alpha_)
    assert model.prefix_scores_[0] == pytest.approx(np.median(alone.best_score_))
    with pytest.raises(DataError, match="blocks sum to 25 columns; X has 30"):
        ForwardBlocksRidgeCV(blocks=[10, 15]).fit(x, y)
    with pytest.raises(ConfigError, match="blocks must be positive whole sizes"):
        ForwardBlocksRidgeCV(blocks=[0, 30]).fit(x, y)


def test_bad_sources_are_one_line(stores, tmp_path):
    new = np.asarray(data.open(stores["new"])["stimuli"].values)
    with pytest.raises(ConfigError, match="needs source recordings"):
        PopulationEmbedding(features="pixels").fit(new)
    with pytest.raises(ConfigError, match=r"filled in by a benchmark"):
        PopulationEmbedding(recordings="{sources}", features="pixels").fit(new)
    with pytest.raises(ConfigError, match="no store matches"):
        PopulationEmbedding(recordings=str(tmp_path / "none*.zarr"), features="pixels").fit(new)
    with pytest.raises(ConfigError, match="named twice"):
        PopulationEmbedding(recordings=[str(stores["a"]), str(stores["a"])], features="pixels").fit(new)
    with pytest.raises(ConfigError, match="split must be one of all, train"):
        PopulationEmbedding(recordings=[{"path": str(stores["a"]), "split": "test"}], features="pixels").fit(new)
    with pytest.raises(ConfigError, match="learns from the stimuli"):
        PopulationEmbedding(recordings=[str(stores["a"])], features="pixel_pca").fit(new)
    with pytest.raises(DataError, match="gone.zarr: no such file"):
        PopulationEmbedding(recordings=[str(tmp_path / "gone.zarr")], features="pixels").fit(new)
