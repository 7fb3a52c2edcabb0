"""Per-unit permutation p-values and Benjamini-Hochberg q-values: calibrated under the null,
controlling the false discovery rate, powerful under signal, and agreeing with scipy."""

import numpy as np
import pytest
from scipy import stats

from cortexkit.metrics import fdr_bh, permutation_p


def draw(n_stimuli, n_units, signal, rng):
    truth = rng.standard_normal((n_stimuli, n_units))
    pred = signal * truth + rng.standard_normal((n_stimuli, n_units))
    return truth + rng.standard_normal((n_stimuli, n_units)), pred


def test_null_p_values_are_uniform():
    rng = np.random.default_rng(0)
    y, pred = draw(40, 600, 0.0, rng)
    p = permutation_p(y, pred, n_permutations=400, seed=1)
    assert p.min() >= 1 / 401
    assert stats.kstest(p, "uniform").pvalue > 0.01
    assert abs(np.mean(p < 0.05) - 0.05) < 0.025


def test_agrees_with_the_parametric_test_where_it_holds():
    """For Gaussian data the permutation p of r approaches Pearson's one-sided t-test p."""
    rng = np.random.default_rng(1)
    y, pred = draw(60, 40, 0.15, rng)
    p = permutation_p(y, pred, n_permutations=4000, seed=2)
    reference = np.array([stats.pearsonr(y[:, u], pred[:, u], alternative="greater").pvalue for u in range(40)])
    np.testing.assert_allclose(p, reference, atol=0.02)


def test_bh_equals_scipy_and_keeps_nan():
    rng = np.random.default_rng(2)
    p = rng.random(200) ** 3
    np.testing.assert_allclose(fdr_bh(p), stats.false_discovery_control(p, method="bh"), rtol=1e-12)
    with_nan = p.copy()
    with_nan[[3, 50]] = np.nan
    q = fdr_bh(with_nan)
    assert np.isnan(q[[3, 50]]).all()
    np.testing.assert_allclose(q[np.isfinite(q)], stats.false_discovery_control(p[np.isfinite(with_nan)], method="bh"))


def test_fdr_is_controlled_and_power_rises_with_signal():
    rng = np.random.default_rng(3)
    fdp = []
    for draw_ in range(30):  # 20% of units carry signal, the rest are null
        n_units, n_signal = 100, 20
        y, pred = draw(40, n_units, 0.0, rng)
        y2, pred2 = draw(40, n_signal, 0.8, rng)
        y[:, :n_signal], pred[:, :n_signal] = y2, pred2
        q = fdr_bh(permutation_p(y, pred, n_permutations=300, seed=draw_))
        found = q < 0.05
        fdp.append(found[n_signal:].sum() / max(1, found.sum()))
    assert np.mean(fdp) <= 0.05 + 0.02  # nominal 5%, up to the spread of 30 draws
    power = []
    for signal in (0.1, 0.4, 1.0):
        y, pred = draw(40, 200, signal, rng)
        power.append(np.mean(fdr_bh(permutation_p(y, pred, n_permutations=300, seed=9)) < 0.05))
    assert power[0] < power[1] < power[2] and power[2] > 0.9


def test_units_with_missing_responses_and_bad_shapes():
    rng = np.random.default_rng(4)
    y, pred = draw(30, 3, 1.0, rng)
    y[:10, 1] = np.nan  # recorded on 20 stimuli only
    y[:, 2] = np.nan
    p = permutation_p(y, pred, n_permutations=200, seed=0)
    assert p[0] < 0.05 and p[1] < 0.05 and np.isnan(p[2])
    with pytest.raises(ValueError, match="must be \\(stimulus, unit\\) arrays of one shape"):
        permutation_p(y[:, :2], pred)
