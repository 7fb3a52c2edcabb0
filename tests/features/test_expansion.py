import numpy as np
import pytest

from cortexkit.errors import ConfigError
from cortexkit.features import ExpansionModel
from cortexkit.features.expansion import first_layer_bank
from cortexkit.filters import curvature

SMALL = dict(widths=(8, 12, 16, 20), image_size=140)


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).random((3, 48, 48, 3)).astype(np.float32)


def test_shapes_and_layers(images):
    ext = ExpansionModel(**SMALL).fit(images)
    f = ext.transform(images)
    assert f.shape == (3, 20 * ext.output_size_ ** 2) and ext.output_size_ == 1
    g = ExpansionModel(**SMALL, global_pool=True).fit(images).transform(images)
    assert g.shape == (3, 20)
    layers = ExpansionModel(**SMALL, layers="all").fit(images).extract(images)
    assert list(layers) == ["expansion.l1", "expansion.l2", "expansion.l3", "expansion.l4", "expansion.l5"]
    assert layers["expansion.l1"].shape == (3, 108 * 16) and layers["expansion.l5"].shape == (3, 20)
    np.testing.assert_allclose(layers["expansion.l5"], f, rtol=1e-5)


def test_seeded_and_configurable(images):
    a = ExpansionModel(**SMALL, seed=1).fit(images).transform(images)
    np.testing.assert_array_equal(a, ExpansionModel(**SMALL, seed=1).fit(images).transform(images))
    assert not np.allclose(a, ExpansionModel(**SMALL, seed=2).fit(images).transform(images))
    for kw in [dict(first_layer="gabor"), dict(first_layer="random"), dict(nonlinearity="elu"), dict(nonlinearity="none"),
               dict(init="uniform"), dict(pool="max")]:
        out = ExpansionModel(**SMALL, **kw).fit(images).transform(images)
        assert out.shape == a.shape and np.isfinite(out).all()
    assert (ExpansionModel(**SMALL, nonlinearity="relu").fit(images).transform(images) >= 0).all()


def test_batches_do_not_change_features(images):
    a = ExpansionModel(**SMALL, max_memory="1GB").fit(images).transform(images)
    b = ExpansionModel(**SMALL, max_memory=1).fit(images).transform(images)  # one image at a time
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_errors(images):
    with pytest.raises(ConfigError, match="image_size=112 is too small for 5 layers; the smallest is 140"):
        ExpansionModel(image_size=112).fit(images)
    with pytest.raises(ConfigError, match="widths must be 4 positive"):
        ExpansionModel(widths=(1, 2)).fit(images)
    with pytest.raises(ConfigError, match="first_layer must be"):
        ExpansionModel(**{**SMALL, "image_size": 140}, first_layer="dog").fit(images)


def test_curvature_filters():
    bank = first_layer_bank("curvature")
    assert bank.shape == (36, 1, 15, 15)
    f = curvature(15, 0.0, 0.0)
    assert abs(f.sum()) < 1e-4
    # zero curvature at theta 0: a straight filter, symmetric about its centre row
    np.testing.assert_allclose(f, f[::-1, :], atol=1e-6)
    bent = curvature(15, 0.0, 0.3)
    assert not np.allclose(bent, bent[::-1, ::-1], atol=1e-3) or not np.allclose(bent, f)


@pytest.mark.slow  # over 8 s; CI runs it
def test_predictivity_rises_with_the_final_width():
    """The expansion model's claim: on simulated V1, ridge on wider final layers predicts better.
    Median r to the true rates, measured with this seed: 0.401 (width 2), 0.475 (16), 0.538 (256)."""
    from cortexkit import data
    from cortexkit.encoding import RidgeCV
    from cortexkit.metrics import pearson
    from cortexkit.simulate import simulate_v1

    ds = simulate_v1(n_train=300, n_test=40, n_repeats=2, n_simple=10, n_complex=10, size=32, seed=1)
    train, test = data.select(ds, "train"), data.select(ds, "test")
    y = data.repeat_average(train).values
    truth = test["true_rate"].transpose("stimulus", "unit").values
    scores = []
    for width in WIDTHS:
        model = ExpansionModel(widths=(4, 8, 16, width), image_size=140).fit(train["stimuli"].values)
        a, b = model.transform(train["stimuli"].values), model.transform(test["stimuli"].values)
        scale = np.sqrt(a.var(0).mean())
        pred = RidgeCV().fit(a / scale, y).predict(b / scale)
        scores.append(np.nanmedian(pearson(truth, pred)))
    assert np.all(np.diff(scores) > MIN_STEP), scores


WIDTHS, MIN_STEP = (2, 16, 256), 0.03


def test_gray_images_take_the_shortcut_to_the_same_features():
    """Gray images filter one colour copy in layer 1 and sum layer 2's weights over the copies:
    the features equal those of the same images given as three identical colour channels."""
    rng = np.random.default_rng(0)
    gray = rng.random((3, 140, 140)).astype(np.float32)
    for layers in ("last", "all"):
        model = ExpansionModel(**SMALL, layers=layers).fit(gray)
        short, full = model.extract(gray), model.extract(np.repeat(gray[..., None], 3, axis=-1))
        assert short.keys() == full.keys()
        for name in short:
            np.testing.assert_allclose(short[name], full[name], rtol=1e-4, atol=1e-6 * np.abs(full[name]).max())
