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


def test_split_predictions_sum_to_the_joint_one_and_match_himalaya():
    """Same candidates, alphas and folds as himalaya's GroupRidgeCV random search: the chosen band
    weights, the per-band predictions and the split R² agree (float64)."""
    from himalaya.backend import set_backend
    from himalaya.ridge import GroupRidgeCV
    from himalaya.scoring import r2_score, r2_score_split
    from sklearn.model_selection import KFold

    from cortexkit.metrics import r2_split

    set_backend("numpy")
    rng = np.random.default_rng(4)
    n = 300
    XA, XB = rng.standard_normal((n, 15)), rng.standard_normal((n, 40))
    Y = XA @ rng.standard_normal((15, 12)) + 0.5 * XB @ rng.standard_normal((40, 12)) + 3 * rng.standard_normal((n, 12))
    X = np.hstack([XA, XB])
    X, Y = X - X.mean(0), Y - Y.mean(0)  # himalaya's split refuses an intercept
    tr, te = slice(0, 220), slice(220, None)
    cv = KFold(5, shuffle=True, random_state=0)
    weights = np.vstack([[0.5, 0.5], [0.9, 0.1], [0.1, 0.9], rng.dirichlet([1.0, 1.0], 5)])
    ours = BandedRidgeCV(bands=[15, 40], alphas=ALPHAS, n_iter=weights, cv=cv, fit_intercept=False, dtype="float64").fit(X[tr], Y[tr])
    groups = np.repeat([0, 1], [15, 40])
    theirs = GroupRidgeCV(groups=groups, fit_intercept=False, cv=cv, solver_params=dict(
        n_iter=ours.candidates_, alphas=ALPHAS, score_func=r2_score, jitter_alphas=False, progress_bar=False)).fit(X[tr], Y[tr])
    split = ours.predict(X[te], split=True)
    assert split.shape == (2, 80, 12)
    np.testing.assert_allclose(split.sum(0) + ours.intercept_, ours.predict(X[te]), atol=1e-10)
    np.testing.assert_allclose(split, theirs.predict(X[te], split=True), rtol=1e-6, atol=1e-8)
    # The split R² sums to the joint R² and equals himalaya's product measure on centered data.
    Yc = Y[te] - Y[te].mean(0)
    np.testing.assert_allclose(r2_split(Y[te], split).sum(0), r2_score(Yc, split.sum(0) - split.sum(0).mean(0)), atol=1e-10)
    np.testing.assert_allclose(ours.score(X[te], Y[te], split=True),
                               r2_score_split(Yc, split - split.mean(1, keepdims=True)), atol=1e-10)
    # Band A explains more than band B in most targets (A's weights are twice as large).
    assert (ours.score(X[te], Y[te], split=True)[0] > ours.score(X[te], Y[te], split=True)[1]).mean() > 0.7


def test_split_of_a_single_target_and_bad_shapes():
    X, Y = _two_spaces(5, 200)
    m = BandedRidgeCV(bands=[20, 300], alphas=ALPHAS, n_iter=3).fit(X, Y[:, 0])
    assert m.predict(X, split=True).shape == (2, 200)
    from cortexkit.errors import DataError
    from cortexkit.metrics import r2_split

    with pytest.raises(DataError, match="do not match"):
        r2_split(Y, np.zeros((2, 10, 30)))
    with pytest.raises(ConfigError, match="must be \\(candidates, 2\\) non-negative"):
        BandedRidgeCV(bands=[20, 300], n_iter=[[1.0, -1.0]]).fit(X, Y)
