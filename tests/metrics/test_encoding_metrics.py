import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import r2_score

from cortexkit import metrics
from cortexkit.errors import DataError


def test_pearson_and_r2_hand_values():
    y = np.array([[1.0, 2.0], [2.0, 4.0], [3.0, 6.0], [4.0, 8.0]])
    p = np.array([[2.0, 8.0], [4.0, 6.0], [6.0, 4.0], [8.0, 2.0]])
    np.testing.assert_allclose(metrics.pearson(y, p), [1.0, -1.0])
    # unit 0: residuals -1,-2,-3,-4 -> SSE 30; SST 5 -> R² = 1 - 6 = -5
    np.testing.assert_allclose(metrics.r2(y, p)[0], -5.0)
    np.testing.assert_allclose(metrics.pearson_squared(y, p), [1.0, 1.0])


def test_against_scipy_and_sklearn():
    rng = np.random.default_rng(0)
    y, p = rng.standard_normal((30, 5)), rng.standard_normal((30, 5))
    np.testing.assert_allclose(metrics.pearson(y, p), [stats.pearsonr(y[:, i], p[:, i])[0] for i in range(5)])
    np.testing.assert_allclose(metrics.r2(y, p), r2_score(y, p, multioutput="raw_values"))


def test_constant_input_gives_nan():
    y = np.array([[1.0], [1.0], [1.0]])
    assert np.isnan(metrics.pearson(y, np.array([[1.0], [2.0], [3.0]]))[0])
    assert np.isnan(metrics.r2(y, np.array([[1.0], [2.0], [3.0]]))[0])


def test_shape_mismatch():
    with pytest.raises(DataError, match=r"'y_pred': shape \(3, 2\) does not match y_true shape \(3, 1\)"):
        metrics.pearson(np.zeros((3, 1)), np.zeros((3, 2)))


def _neuralpredictors_fev(targets, predictions):
    """Per-image list formulation of neuralpredictors' fev, written out independently."""
    img_var = np.vstack([np.var(t, axis=0, ddof=1) for t in targets])
    pred_var = np.vstack([(t - p) ** 2 for t, p in zip(targets, predictions)])
    total = np.var(np.vstack(targets), axis=0, ddof=1)
    noise = img_var.mean(0)
    return (total - noise) / total, 1 - (pred_var.mean(0) - noise) / (total - noise)


def test_fev_feve_hand_values():
    # 2 stimuli x 2 repeats x 1 unit: trials [1, 3] and [5, 7]
    rep = np.array([[[1.0], [3.0]], [[5.0], [7.0]]])
    # total var of [1,3,5,7] (ddof=1) = 20/3; noise = mean(2, 2) = 2
    np.testing.assert_allclose(metrics.fev(rep), [(20 / 3 - 2) / (20 / 3)])
    # perfect prediction of the stimulus means: MSE = 1 -> FEVE = 1 - (1-2)/(20/3-2)
    np.testing.assert_allclose(metrics.feve(rep, np.array([[2.0], [6.0]])), [1 - (1 - 2) / (20 / 3 - 2)])


def test_fev_feve_match_neuralpredictors_formula_with_unequal_repeats():
    rng = np.random.default_rng(1)
    n_rep = [3, 5, 4, 2, 6, 3]
    targets = [rng.poisson(4 + i, size=(k, 3)).astype(float) for i, k in enumerate(n_rep)]
    preds = [np.repeat(rng.uniform(3, 10, (1, 3)), k, axis=0) for k in n_rep]
    padded = np.full((len(n_rep), max(n_rep), 3), np.nan)
    for i, t in enumerate(targets):
        padded[i, : len(t)] = t
    fev_ref, feve_ref = _neuralpredictors_fev(targets, preds)
    np.testing.assert_allclose(metrics.fev(padded), fev_ref)
    np.testing.assert_allclose(metrics.feve(padded, np.vstack([p[0] for p in preds])), feve_ref)


def test_feve_needs_two_repeats():
    with pytest.raises(DataError, match=r"'repeats': every stimulus needs at least 2 repeat\(s\) for a noise estimate"):
        metrics.fev(np.array([[[1.0], [np.nan]], [[2.0], [3.0]]]))


def test_feve_prediction_shape():
    with pytest.raises(DataError, match="'y_pred': shape"):
        metrics.feve(np.ones((3, 2, 4)), np.ones((3, 5)))


def test_correlation_to_average_and_single_trial():
    rep = np.array([[[1.0], [3.0]], [[5.0], [7.0]], [[2.0], [np.nan]]])
    pred = np.array([[1.0], [2.0], [0.5]])
    np.testing.assert_allclose(metrics.correlation_to_average(rep, pred), stats.pearsonr([2, 6, 2], [1, 2, 0.5])[0])
    trials = [1, 3, 5, 7, 2]
    per_trial = [1, 1, 2, 2, 0.5]
    np.testing.assert_allclose(metrics.single_trial_correlation(rep, pred), stats.pearsonr(trials, per_trial)[0])


def test_ceiling_normalized_conventions():
    np.testing.assert_allclose(metrics.ceiling_normalized(0.6, 0.81), 0.36 / 0.81)
    np.testing.assert_allclose(metrics.ceiling_normalized(0.6, 0.81, "r_over_sqrt_ceiling"), 0.6 / 0.9)
    np.testing.assert_allclose(metrics.ceiling_normalized(0.6, 0.81, "legacy_brainscore"), (0.6 / 0.81) ** 2)
    assert np.isnan(metrics.ceiling_normalized(0.5, 0.0))
    with pytest.raises(ValueError, match="unknown convention"):
        metrics.ceiling_normalized(0.5, 0.5, "other")


def test_ceiling_normalized_is_signed_and_bounded():
    """An anti-correlated unit with a tiny ceiling is not 3.7 (r²/ceiling of -0.6 over 0.1): it is
    negative and capped at -1; scores above the ceiling are capped at 1 (Brain-Score)."""
    out = metrics.ceiling_normalized(np.array([-0.6, 0.6, -0.2, 0.5]), np.array([0.1, 0.1, 0.81, -0.2]))
    np.testing.assert_allclose(out[:3], [-1.0, 1.0, -0.04 / 0.81])
    assert np.isnan(out[3])
    for convention in ("r_over_sqrt_ceiling", "legacy_brainscore"):
        assert (np.abs(metrics.ceiling_normalized(np.array([-0.9, 0.9]), np.array([0.05, 0.05]), convention)) == 1).all()


def test_feve_and_r2_signs():
    """FEVE's sign is the single-trial test (MSE < variance); R²'s the repeat-average test. Clear
    failures are negative on both; they can disagree only near zero (documented in the README)."""
    rng = np.random.default_rng(3)
    sig = rng.standard_normal((60, 1))
    rep = sig[:, None, :] + rng.standard_normal((60, 5, 1))
    avg = rep.mean(1)
    for pred in (sig, 0.5 * sig, -sig, sig + 2.0, rng.standard_normal((60, 1))):
        trials = rep.reshape(-1, 1)
        mse = ((rep - pred[:, None, :]) ** 2).reshape(-1, 1).mean(0)
        assert np.sign(metrics.feve(rep, pred)) == np.sign(trials.var(0, ddof=1) - mse)
    bad = -sig  # anti-correlated: clearly worse than the mean on both
    assert metrics.r2(avg, bad)[0] < -1 and metrics.feve(rep, bad)[0] < -1
    good = sig
    assert metrics.r2(avg, good)[0] > 0.5 and metrics.feve(rep, good)[0] > 0.8
