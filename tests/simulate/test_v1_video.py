"""Simulated V1 watching movies: rates follow the stored space-time filters exactly (energy cells as the
quadrature pair's energy, simple cells as their own filter rectified), trials are Poisson around them,
and the clips' pixels are in the responses (a linear decoder identifies the test clips)."""

import numpy as np
import pytest

from cortexkit import data
from cortexkit.simulate import simulate_v1_video


@pytest.fixture(scope="module")
def ds():
    return simulate_v1_video(n_train=200, n_test=20, n_repeats=20, n_simple=30, n_complex=10, size=16, n_frames=6, seed=2)


def _drive(ds, name):
    clips = ds["stimuli"].values.reshape(ds.sizes["stimulus"], -1) - 0.5
    return clips @ ds[name].values.reshape(ds.sizes["unit"], -1).T


def test_rates_follow_the_stored_filters(ds):
    rates = ds["true_rate"].values
    even, odd = _drive(ds, "true_filter"), _drive(ds, "true_filter_quadrature")
    complex_ = ds["cell_type"].values == "complex"
    energy = np.sqrt(even**2 + odd**2)[:, complex_]
    ratio = rates[:, complex_] / energy  # one gain per energy cell
    np.testing.assert_allclose(ratio, np.broadcast_to(ratio.mean(0), ratio.shape), rtol=1e-3)
    for u in np.flatnonzero(~complex_):  # a simple cell: an affine function of its own filter where it fires
        on = rates[:, u] > 0
        assert on.sum() > 10 and np.corrcoef(rates[on, u], even[on, u])[0, 1] > 0.9999
        assert (even[~on, u] <= even[on, u].min() + 1e-6).all()  # silent below its threshold only


def test_trials_are_poisson_around_the_rates(ds):
    test = data.select(ds, "test")
    mean = data.repeat_average(test).values
    truth = ds["true_rate"].sel(stimulus=test["stimulus"].values).values
    assert np.corrcoef(mean.ravel(), truth.ravel())[0, 1] > 0.95
    assert ds["responses"].values.min() >= 0 and (ds["responses"].values == np.round(ds["responses"].values)).all()
    assert ds["true_filter"].dims == ("unit", "frame", "y", "x") and ds["stimuli"].shape[1:] == (6, 16, 16)
    assert set(ds["latency"].values) <= set(range(6)) and len(set(ds["latency"].values)) > 1


def test_the_pixels_are_in_the_responses(ds):
    from cortexkit.decoding import PixelPCADecoder
    from cortexkit.metrics import reconstruction as rm

    train, test = data.select(ds, "train"), data.select(ds, "test")
    rec = PixelPCADecoder(n_components=30).fit(data.repeat_average(train).values, train["stimuli"].values) \
        .reconstruct(data.repeat_average(test).values)
    truth = test["stimuli"].values
    assert rm.identification(truth.reshape(20, -1), rec.reshape(20, -1)).mean() > 0.6  # 0.71 with 40 units; MT-like units: 0.5
