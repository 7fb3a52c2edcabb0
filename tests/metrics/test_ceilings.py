import numpy as np
import pytest

from cortexkit import data, metrics
from cortexkit.errors import DataError
from cortexkit.simulate import simulate_v1


def test_spearman_brown():
    np.testing.assert_allclose(metrics.spearman_brown(0.5), 2 * 0.5 / 1.5)
    np.testing.assert_allclose(metrics.spearman_brown(0.5, factor=3), 1.5 / 2)


def test_split_half_hand_example():
    # Two repeats per stimulus: each split sends one trial of every stimulus to each half, at
    # random. The estimate is the mean r over the 2^4 equally likely assignments.
    import itertools

    trials = np.array([[1.0, 2.0], [2.0, 1.0], [3.0, 4.0], [5.0, 5.0]])
    rs = [
        np.corrcoef(trials[np.arange(4), list(flip)], trials[np.arange(4), [1 - f for f in flip]])[0, 1]
        for flip in itertools.product([0, 1], repeat=4)
    ]
    exact = np.mean(rs)
    rep = trials[:, :, None]
    np.testing.assert_allclose(metrics.split_half_reliability(rep, corrected=False, n_splits=4000), exact, atol=0.01)
    np.testing.assert_allclose(metrics.split_half_reliability(rep, n_splits=4000), 2 * exact / (1 + exact), atol=0.01)


def test_split_half_matches_known_poisson_noise():
    """The estimated ceiling matches the one implied by the simulator's true rates.

    For Poisson trials the noise variance equals the rate, so the reliability of an n-trial
    average is var_s(rate) / (var_s(rate) + mean_s(rate) / n).
    """
    ds = simulate_v1(n_train=10, n_test=200, n_repeats=8, n_simple=30, n_complex=30, size=16,
                     mean_rate=1.0, rate_spread=1.0, seed=11)
    test = data.select(ds, "test")
    estimate = metrics.split_half_reliability(data.repeats(test).values, n_splits=100)
    rate = test["true_rate"].values
    expected = rate.var(0, ddof=1) / (rate.var(0, ddof=1) + rate.mean(0) / 8)
    assert expected.min() < 0.6 < expected.max()  # a range of noise levels is covered
    diff = estimate - expected
    # Sampling error of a correlation over 200 stimuli: a few hundredths for these units.
    assert abs(diff.mean()) < 0.02
    assert np.abs(diff).max() < 0.12
    assert np.corrcoef(estimate, expected)[0, 1] > 0.95


def test_ncsnr_gaussian():
    rng = np.random.default_rng(0)
    signal = rng.standard_normal((2000, 1)) * 2.0
    rep = signal[:, None, :] + rng.standard_normal((2000, 3, 1))  # noise sd 1
    snr = metrics.ncsnr(rep)
    np.testing.assert_allclose(snr, 2.0, rtol=0.05)
    np.testing.assert_allclose(metrics.ncsnr_ceiling(2.0, 3), 4 / (4 + 1 / 3))


def test_unequal_repeats_and_errors():
    rng = np.random.default_rng(2)
    rep = rng.standard_normal((20, 5, 3)) + rng.standard_normal((20, 1, 3)) * 3
    rep[::3, 3:] = np.nan  # some stimuli have 3 repeats
    rel = metrics.split_half_reliability(rep)
    assert rel.shape == (3,) and (rel > 0.8).all()
    bad = rep.copy()
    bad[1, 0, 0] = np.nan  # unit 0 lost a trial the others have
    with pytest.raises(DataError, match="NaN patterns differ"):
        metrics.split_half_reliability(bad)
