import numpy as np
import pytest

from cortexkit.encoding import BandedRidgeCV, RidgeCV
from cortexkit.encoding.ridge.banded import band_candidates
from cortexkit.errors import ConfigError

ALPHAS = np.logspace(-2, 5, 15)


def _two_spaces(seed=0, n=600):
    """Targets driven by a small feature space A; a large space B is pure noise."""
    rng = np.random.default_rng(seed)
    XA, XB = rng.standard_normal((n, 20)), rng.standard_normal((n, 300))
    Y = XA @ rng.standard_normal((20, 30)) * 0.5 + rng.standard_normal((n, 30)) * 2
    return np.hstack([XA, XB]).astype(np.float32), Y.astype(np.float32)


def test_banded_shrinks_the_noise_band_and_beats_one_penalty():
    X, Y = _two_spaces()
    tr, te = slice(0, 400), slice(400, None)
    plain = RidgeCV(alphas=ALPHAS).fit(X[tr], Y[tr])
    banded = BandedRidgeCV(bands=[20, 300], alphas=ALPHAS, n_iter=12).fit(X[tr], Y[tr])
    assert np.median(banded.score(X[te], Y[te])) > np.median(plain.score(X[te], Y[te])) + 0.1
    # the informative band gets most of the weight, i.e. a far smaller effective penalty
    assert (banded.band_weights_[:, 0] > 0.9).mean() > 0.9
    assert np.median(banded.band_alphas_[:, 1] / banded.band_alphas_[:, 0]) > 100
    assert banded.cv_scores_.shape == (12, 30) and banded.coef_.shape == (30, 320)


def test_single_band_equals_ridge():
    X, Y = _two_spaces(1, 300)
    plain = RidgeCV(alphas=ALPHAS, dtype="float64").fit(X, Y)
    banded = BandedRidgeCV(bands=[320], alphas=ALPHAS, n_iter=1, dtype="float64").fit(X, Y)
    np.testing.assert_allclose(banded.coef_, plain.coef_, rtol=1e-8, atol=1e-10)
    np.testing.assert_array_equal(banded.alpha_, plain.alpha_)


def test_weights_are_in_raw_units_with_standardize():
    X, Y = _two_spaces(2, 300)
    X[:, :20] *= 50.0  # very different feature scales
    m = BandedRidgeCV(bands=[20, 300], alphas=ALPHAS, n_iter=4, standardize=True, dtype="float64").fit(X, Y)
    pred = X @ m.coef_.T + m.intercept_
    np.testing.assert_allclose(pred, m.predict(X))
    assert np.median(m.score(X, Y)) > 0.3


def test_index_bands_and_errors():
    X, Y = _two_spaces(3, 200)
    idx = [np.arange(0, 320, 2), np.arange(1, 320, 2)]
    assert BandedRidgeCV(bands=idx, alphas=ALPHAS, n_iter=3).fit(X, Y).band_weights_.shape == (30, 2)
    with pytest.raises(ConfigError, match="must be positive and sum to the 320 features"):
        BandedRidgeCV(bands=[20, 20]).fit(X, Y)
    with pytest.raises(ConfigError, match="needs bands"):
        BandedRidgeCV().fit(X, Y)
    with pytest.raises(ConfigError, match="160 feature\\(s\\) belong to no band"):
        BandedRidgeCV(bands=[np.arange(0, 320, 2)]).fit(X, Y)


def test_candidates():
    c = band_candidates(3, 10, (0.1, 1.0), seed=0)
    assert c.shape == (10, 3)
    np.testing.assert_allclose(c.sum(1), 1.0)
    np.testing.assert_allclose(c[:4], [[1 / 3] * 3, [1, 0, 0], [0, 1, 0], [0, 0, 1]])
    np.testing.assert_array_equal(c, band_candidates(3, 10, (0.1, 1.0), seed=0))
