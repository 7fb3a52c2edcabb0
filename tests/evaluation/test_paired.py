"""Paired model comparison: finds a truly better model, and is calibrated when neither is."""

import numpy as np
import pytest
from scipy import stats

from cortexkit.errors import DataError
from cortexkit.evaluation import combine_sessions, paired_comparison


def _recording(rng, n_stim=60, n_units=20, n_rep=5, noise=1.0):
    rates = rng.standard_normal((n_stim, n_units))
    trials = rates[:, None, :] + noise * rng.standard_normal((n_stim, n_rep, n_units))
    return rates, trials


def test_truly_better_model_wins():
    rng = np.random.default_rng(0)
    rates, trials = _recording(rng)
    good = rates + 0.3 * rng.standard_normal(rates.shape)  # close to the true rates
    degraded = 0.5 * rates + 1.0 * rng.standard_normal(rates.shape)
    table, summary = paired_comparison(trials.mean(1), good, degraded, repeats=trials, ceiling=np.full(20, 0.8),
                                       n_bootstrap=500)
    assert summary["wilcoxon_p"] < 0.01 and summary["permutation_p"] < 0.01 and summary["ci_low"] > 0
    assert summary["fraction_a_better"] > 0.9 and summary["ratio"] > 1.2
    assert table["a_better"].sum() > 10 and not table["b_better"].any()
    assert (table["normalized_diff"] > 0).mean() > 0.9
    # swapping the models flips every sign
    _, swapped = paired_comparison(trials.mean(1), degraded, good, n_bootstrap=200)
    assert swapped["median_diff"] == pytest.approx(-summary["median_diff"]) and swapped["ci_high"] < 0


def test_equal_models_are_calibrated():
    """Two models equally good (independent errors of the same size): over 200 seeded recordings,
    the swap-permutation p-value is uniform (about 5% below 0.05) and the 95% bootstrap interval of
    the median difference covers 0 at least 95% of the time (it is slightly conservative)."""
    covered, pvalues = 0, []
    for seed in range(200):
        rng = np.random.default_rng(seed)
        rates, trials = _recording(rng, n_stim=40, n_units=15, n_rep=4)
        a = rates + rng.standard_normal(rates.shape)
        b = rates + rng.standard_normal(rates.shape)
        _, s = paired_comparison(trials.mean(1), a, b, repeats=trials, n_bootstrap=200, n_permutations=200, seed=seed)
        covered += s["ci_low"] <= 0 <= s["ci_high"]
        pvalues.append(s["permutation_p"])
    assert covered / 200 >= 0.95
    assert 0.02 <= np.mean(np.array(pvalues) < 0.05) <= 0.09
    assert stats.kstest(pvalues, "uniform").pvalue > 0.01


def test_repeats_widen_the_interval():
    """Resampling repeats puts trial noise into the interval: wider than stimuli alone."""
    rng = np.random.default_rng(1)
    rates, trials = _recording(rng, n_rep=3, noise=2.0)
    a, b = rates + rng.standard_normal(rates.shape), 0.8 * rates + rng.standard_normal(rates.shape)
    t_plain, _ = paired_comparison(trials.mean(1), a, b, n_bootstrap=400)
    t_rep, _ = paired_comparison(trials.mean(1), a, b, repeats=trials, n_bootstrap=400)
    widths = [np.median(t["ci_high"] - t["ci_low"]) for t in (t_plain, t_rep)]
    assert widths[1] > widths[0]


def test_sessions_combined_as_units_of_evidence():
    rng = np.random.default_rng(2)
    summaries = {}
    for k in range(5):
        rates, trials = _recording(rng)
        summaries[f"s{k}"] = paired_comparison(trials.mean(1), rates, 0.5 * rates + rng.standard_normal(rates.shape),
                                               n_bootstrap=200)[1]
    combined = combine_sessions(summaries)
    assert combined["n_sessions"] == 5 and combined["n_sessions_a_better"] == 5
    assert combined["ci_low"] > 0 and combined["min_ratio"] > 1
    assert combined["wilcoxon_p"] == pytest.approx(0.0625)  # 5 sessions, all positive: the smallest p possible


def test_bad_inputs_name_the_array():
    y = np.zeros((10, 3))
    with pytest.raises(DataError, match=r"'prediction_b': has shape \(10, 2\); expected \(10, 3\)"):
        paired_comparison(y, y, np.zeros((10, 2)))
    with pytest.raises(DataError, match=r"'prediction_a': has 1 non-finite value"):
        bad = y.copy()
        bad[0, 0] = np.nan
        paired_comparison(y, bad, y)


def test_paired_per_stimulus_against_scipy_and_a_direct_bootstrap():
    from scipy.stats import wilcoxon

    from cortexkit.evaluation import paired_per_stimulus

    rng = np.random.default_rng(3)
    a = rng.random(60)
    b = a - 0.05 + rng.normal(0, 0.05, 60)
    a[4] = np.nan  # undefined for one stimulus: dropped in pairs
    out = paired_per_stimulus(a, b, seed=1)
    keep = np.isfinite(a)
    assert out["n_stimuli"] == 59
    assert out["difference"] == pytest.approx(np.mean(a[keep] - b[keep]))
    assert out["wilcoxon_p"] == pytest.approx(wilcoxon(a[keep] - b[keep]).pvalue)
    draws = np.random.default_rng(1).integers(0, 59, size=(2000, 59))
    boot = (a[keep] - b[keep])[draws].mean(1)
    assert (out["ci_low"], out["ci_high"]) == pytest.approx(tuple(np.percentile(boot, [2.5, 97.5])))
    assert out["ci_low"] > 0 and out["wilcoxon_p"] < 1e-6
    same = paired_per_stimulus(b, b)
    assert same["difference"] == 0 and np.isnan(same["wilcoxon_p"])
    with pytest.raises(DataError, match="differ in length"):
        paired_per_stimulus(a, b[:10])
    with pytest.raises(DataError, match="1 stimuli have both scores"):
        paired_per_stimulus([1.0, np.nan], [0.5, 0.2])


def test_units_not_recorded_on_every_stimulus_are_compared_on_their_own():
    """Pooled sessions: each unit's r (and its bootstrap) uses only the stimuli it was recorded on."""
    from cortexkit.evaluation import paired_comparison

    rng = np.random.default_rng(5)
    y = rng.standard_normal((40, 6))
    a = y + 0.5 * rng.standard_normal(y.shape)
    b = y + 1.5 * rng.standard_normal(y.shape)
    y[:20, :3] = np.nan  # units 0-2 recorded on the last 20 stimuli only
    y[20:, 3:] = np.nan
    table, summary = paired_comparison(y, a, b, n_bootstrap=200, n_permutations=200)
    for u in range(6):
        rows = np.isfinite(y[:, u])
        assert table["r_a"][u] == pytest.approx(np.corrcoef(y[rows, u], a[rows, u])[0, 1])
    assert np.isfinite(table[["ci_low", "ci_high"]].to_numpy()).all() and summary["median_diff"] > 0
