"""Stimulus-bootstrap intervals of one model's headline score."""

import numpy as np
import pytest

from cortexkit import metrics
from cortexkit.errors import ConfigError, DataError
from cortexkit.evaluation import mean_interval, median_r_interval


def _recording(rng, n_stim, n_units, noise):
    truth = rng.normal(size=(n_stim, n_units))
    return truth, truth + noise * rng.normal(size=(n_stim, n_units))


def test_median_pools_units_over_recordings():
    rng = np.random.default_rng(0)
    recs = [_recording(rng, 60, 10, 1.0), _recording(rng, 40, 7, 0.5)]
    out = median_r_interval(recs, n_bootstrap=200)
    pooled = np.concatenate([metrics.pearson(y, p) for y, p in recs])
    assert out["median"] == pytest.approx(np.median(pooled), abs=1e-12)
    assert out["n_units"] == 17
    assert out["ci_low"] < out["median"] < out["ci_high"]


def test_normalized_median_uses_the_same_draws():
    from cortexkit import metrics

    rng = np.random.default_rng(1)
    recs = [_recording(rng, 60, 10, 1.0), _recording(rng, 40, 6, 0.5)]
    ceilings = [np.full(10, 0.8), np.r_[np.full(5, 0.6), np.nan]]
    out = median_r_interval(recs, ceilings=ceilings, n_bootstrap=300)
    r = np.concatenate([metrics.pearson(y, p) for y, p in recs])
    expected = np.nanmedian(metrics.ceiling_normalized(r, np.concatenate(ceilings)))
    assert out["normalized"] == pytest.approx(expected, abs=1e-12)
    assert out["normalized_ci_low"] < out["normalized"] < out["normalized_ci_high"]
    none = median_r_interval(recs, ceilings=[np.full(10, np.nan), np.full(6, np.nan)], n_bootstrap=50)
    assert np.isnan(none["normalized"]) and np.isnan(none["normalized_ci_low"])


def test_interval_covers_the_population_median_at_its_nominal_rate():
    # Units with known r = 1/sqrt(1 + noise²) = 0.707; stimuli drawn afresh each repeat.
    hits = 0
    for seed in range(100):
        rng = np.random.default_rng(seed)
        out = median_r_interval([_recording(rng, 80, 20, 1.0)], n_bootstrap=300, seed=seed)
        hits += out["ci_low"] <= 1 / np.sqrt(2) <= out["ci_high"]
    assert 85 <= hits <= 100  # nominal 95%; the percentile bootstrap of a median is slightly liberal


def test_mean_interval_and_bad_input():
    out = mean_interval([np.array([1.0, 0.0, 1.0, 1.0]), np.array([0.0, 1.0])], n_bootstrap=500)
    assert out["mean"] == pytest.approx((0.75 + 0.5) / 2) and out["n_items"] == 6
    assert out["ci_low"] <= out["mean"] <= out["ci_high"]
    with pytest.raises(DataError, match="recording 0: target"):
        median_r_interval([(np.zeros((5, 2)), np.zeros((5, 3)))])
    with pytest.raises(ConfigError, match="no recordings"):
        median_r_interval([])
    with pytest.raises(ConfigError, match="confidence must be in"):
        median_r_interval([_recording(np.random.default_rng(0), 10, 2, 1.0)], confidence=1.5)
