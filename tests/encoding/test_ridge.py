import numpy as np
import pytest
from sklearn.linear_model import Ridge
from sklearn.model_selection import KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from cortexkit.encoding import RidgeCV
from cortexkit.errors import ConfigError, DataError

ALPHAS = np.logspace(-2, 5, 15)


def _problem(n, p, t=12, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p)) * rng.uniform(0.5, 3, p)  # unequal feature scales
    W = rng.standard_normal((p, t)) * rng.uniform(0, 2, t)  # targets of varied signal strength
    Y = X @ W + 5 + rng.standard_normal((n, t)) * rng.uniform(1, 8, t)
    return X, Y


def _reference(standardize, alpha, fit_intercept=True):
    ridge = Ridge(alpha=alpha, fit_intercept=fit_intercept)
    return make_pipeline(StandardScaler(with_mean=fit_intercept), ridge) if standardize else ridge


def _brute_force_alphas(X, Y, cv, standardize, fit_intercept=True):
    """Refit scikit-learn Ridge for every fold and alpha; mean fold R²; first best alpha."""
    scores = np.zeros((len(ALPHAS), Y.shape[1]))
    for train, val in cv.split(X):
        for i, a in enumerate(ALPHAS):
            pred = _reference(standardize, a, fit_intercept).fit(X[train], Y[train]).predict(X[val])
            yv = Y[val]
            scores[i] += 1 - ((yv - pred) ** 2).sum(0) / ((yv - yv.mean(0)) ** 2).sum(0)
    return ALPHAS[np.argmax(scores / cv.get_n_splits(), axis=0)], scores / cv.get_n_splits()


@pytest.mark.parametrize("n, p", [(240, 40), (80, 300)], ids=["primal", "dual"])
@pytest.mark.parametrize("standardize", [False, True])
@pytest.mark.parametrize("dtype, tol", [("float64", 1e-10), ("float32", 1e-4)])
def test_matches_sklearn_and_brute_force(n, p, standardize, dtype, tol):
    X, Y = _problem(n, p)
    cv = KFold(4, shuffle=True, random_state=1)
    model = RidgeCV(alphas=ALPHAS, cv=cv, standardize=standardize, dtype=dtype).fit(X, Y)
    expected_alphas, expected_scores = _brute_force_alphas(X, Y, cv, standardize)
    np.testing.assert_array_equal(model.alpha_, expected_alphas)
    np.testing.assert_allclose(model.cv_scores_, expected_scores, atol=10 * tol)
    # Predictions equal scikit-learn's Ridge refitted at each unit's chosen alpha.
    X_new = np.random.default_rng(5).standard_normal((30, p))
    ours = model.predict(X_new)
    for t in range(Y.shape[1]):
        ref = _reference(standardize, model.alpha_[t]).fit(X, Y[:, t]).predict(X_new)
        assert np.linalg.norm(ours[:, t] - ref) <= tol * np.linalg.norm(ref)


@pytest.mark.parametrize("n, p", [(240, 40), (80, 300)], ids=["primal", "dual"])
def test_without_intercept_matches_sklearn(n, p):
    """No intercept: the prediction is X @ w alone, in the folds' scores as in the refit (targets
    with a mean of 5 make an added training mean show)."""
    X, Y = _problem(n, p)
    cv = KFold(4, shuffle=True, random_state=1)
    model = RidgeCV(alphas=ALPHAS, cv=cv, fit_intercept=False, dtype="float64").fit(X, Y)
    expected_alphas, expected_scores = _brute_force_alphas(X, Y, cv, False, fit_intercept=False)
    np.testing.assert_allclose(model.cv_scores_, expected_scores, atol=1e-9)
    np.testing.assert_array_equal(model.alpha_, expected_alphas)
    np.testing.assert_array_equal(model.intercept_, 0.0)
    for t in range(Y.shape[1]):
        ref = Ridge(alpha=model.alpha_[t], fit_intercept=False).fit(X, Y[:, t])
        np.testing.assert_allclose(model.coef_[t], ref.coef_, rtol=1e-8, atol=1e-10)


def test_agrees_with_himalaya():
    himalaya = pytest.importorskip("himalaya")
    from himalaya.backend import set_backend
    from himalaya.ridge import RidgeCV as HimalayaRidgeCV

    set_backend("numpy", on_error="raise")
    X, Y = _problem(200, 30)
    cv = KFold(5)
    ref = HimalayaRidgeCV(alphas=ALPHAS, cv=cv, fit_intercept=True).fit(X, Y)
    ours = RidgeCV(alphas=ALPHAS, cv=cv, scoring="neg_mse", dtype="float64").fit(X, Y)
    np.testing.assert_allclose(ours.alpha_, ref.best_alphas_, rtol=1e-12)
    np.testing.assert_allclose(ours.coef_, np.asarray(ref.coef_).T, atol=1e-10)
    assert himalaya.__version__


def test_primal_and_dual_agree():
    X, Y = _problem(150, 120)
    a = RidgeCV(alphas=ALPHAS, solver="primal", dtype="float64").fit(X, Y)
    b = RidgeCV(alphas=ALPHAS, solver="dual", dtype="float64").fit(X, Y)
    np.testing.assert_array_equal(a.alpha_, b.alpha_)
    np.testing.assert_allclose(a.coef_, b.coef_, atol=1e-9)
    np.testing.assert_allclose(a.cv_scores_, b.cv_scores_, atol=1e-10)


def test_target_chunks_change_nothing():
    X, Y = _problem(120, 30, t=25)
    a = RidgeCV(alphas=ALPHAS, dtype="float64").fit(X, Y)
    b = RidgeCV(alphas=ALPHAS, dtype="float64", chunk_size=4).fit(X, Y)
    np.testing.assert_allclose(a.coef_, b.coef_, atol=1e-12)
    np.testing.assert_array_equal(a.alpha_, b.alpha_)


def test_scorings_and_single_target():
    X, Y = _problem(120, 10)
    for scoring in ("r2", "pearson", "neg_mse"):
        m = RidgeCV(alphas=ALPHAS, scoring=scoring).fit(X, Y[:, 0])
        assert m.coef_.shape == (10,) and isinstance(m.alpha_, float)
        assert m.predict(X).shape == (120,)
        assert np.isscalar(m.best_score_)


def test_recovers_weights_and_chooses_small_alpha_for_clean_targets():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((500, 20))
    W = rng.standard_normal((20, 2))
    Y = X @ W + np.c_[0.01 * rng.standard_normal(500), 30 * rng.standard_normal(500)]
    m = RidgeCV(alphas=ALPHAS, dtype="float64").fit(X, Y)
    np.testing.assert_allclose(m.coef_[0], W[:, 0], atol=0.01)
    assert m.alpha_[0] < m.alpha_[1]  # the noisy target is shrunk harder


def test_score_is_per_target_r2():
    X, Y = _problem(100, 8)
    m = RidgeCV(alphas=ALPHAS).fit(X, Y)
    s = m.score(X, Y)
    pred = m.predict(X)
    expected = 1 - ((Y - pred) ** 2).sum(0) / ((Y - Y.mean(0)) ** 2).sum(0)
    np.testing.assert_allclose(s, expected)
    assert s.shape == (Y.shape[1],)


def test_seeded_folds_are_reproducible():
    X, Y = _problem(100, 8)
    a = RidgeCV(alphas=ALPHAS, random_state=4).fit(X, Y)
    b = RidgeCV(alphas=ALPHAS, random_state=4).fit(X, Y)
    np.testing.assert_array_equal(a.cv_scores_, b.cv_scores_)


def test_bad_input_errors():
    X, Y = _problem(50, 5)
    with pytest.raises(DataError, match=r"'X': contains 1 NaN/inf"):
        Xn = X.copy()
        Xn[3, 2] = np.nan
        RidgeCV().fit(Xn, Y)
    with pytest.raises(DataError, match="'y': X has 50 samples but y has 49"):
        RidgeCV().fit(X, Y[:-1])
    with pytest.raises(DataError, match=r"'X': expected 2-D, got shape \(50,\)"):
        RidgeCV().fit(X[:, 0], Y)
    with pytest.raises(ConfigError, match="alphas must be a non-empty list of positive numbers"):
        RidgeCV(alphas=[0.0, 1.0]).fit(X, Y)
    with pytest.raises(ConfigError, match="scoring must be one of"):
        RidgeCV(scoring="accuracy").fit(X, Y)
    with pytest.raises(DataError, match="'cv': cv=5 folds need at least 5 samples"):
        RidgeCV().fit(X[:3], Y[:3])
    m = RidgeCV().fit(X, Y)
    with pytest.raises(DataError, match="'X': X has 4 features; the model was fitted on 5"):
        m.predict(X[:, :4])


@pytest.mark.parametrize("factor", [1e-30, 1e30])
def test_choice_does_not_depend_on_the_units_of_the_responses(factor):
    """Responses in other units (1e30 times: float32 sums of squares overflow) give the same alphas
    and the same predictions in their own units."""
    rng = np.random.default_rng(4)
    X = rng.standard_normal((200, 30)).astype(np.float32)
    Y = (X @ rng.standard_normal((30, 12)) + 3 * rng.standard_normal((200, 12))).astype(np.float32)
    ref = RidgeCV(alphas=np.logspace(-2, 4, 13)).fit(X, Y)
    scaled = RidgeCV(alphas=np.logspace(-2, 4, 13)).fit(X, Y * np.float32(factor))
    assert np.isfinite(scaled.cv_scores_).all()
    np.testing.assert_array_equal(scaled.alpha_, ref.alpha_)
    np.testing.assert_allclose(scaled.predict(X) / factor, ref.predict(X), rtol=1e-4, atol=1e-4)


def test_constant_target_never_picks_an_alpha_from_nan_scores():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((100, 8)).astype(np.float32)
    Y = np.c_[X @ rng.standard_normal(8), np.zeros(100), np.full(100, 4.0)].astype(np.float32)
    model = RidgeCV(alphas=np.logspace(-1, 3, 5)).fit(X, Y)
    assert model.alpha_[1] == model.alphas_[0] and model.alpha_[2] == model.alphas_[0]
    np.testing.assert_allclose(model.predict(X)[:, 1:], np.c_[np.zeros(100), np.full(100, 4.0)], atol=1e-5)


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_kernel_path_equals_per_fold_decompositions(fit_intercept):
    """With more features than samples, every fold's decomposition comes from one kernel of all rows;
    the validation predictions of every alpha equal those of decomposing each fold's rows."""
    import torch

    from cortexkit.encoding.ridge import _solvers

    X, Y = _problem(60, 200)
    Xt, Yt = torch.as_tensor(X), torch.as_tensor(Y)
    folds = [(torch.as_tensor(tr), torch.as_tensor(va)) for tr, va in KFold(4, shuffle=True, random_state=0).split(X)]
    opts = dict(fit_intercept=fit_intercept, standardize=False, solver="auto")
    kernel, full_k = _solvers.decompose_all(Xt, folds, **opts)
    assert all(f.Xs is None for f in kernel)  # no fold keeps a copy of its rows
    direct = _solvers.decompose_folds(Xt, folds, **opts)
    alphas = torch.as_tensor(ALPHAS)
    for a, b in zip(kernel, direct):
        for f in (a, b):
            f.quad = None
        sa = _solvers._fold_scores(a, *_solvers._project(a, Xt, Yt, None), Yt[a.val], alphas, "r2", len(ALPHAS))
        sb = _solvers._fold_scores(b, *_solvers._project(b, Xt, Yt, None), Yt[b.val], alphas, "r2", len(ALPHAS))
        np.testing.assert_allclose(sa.numpy(), sb.numpy(), atol=1e-10)
    coef_k, icpt_k = _solvers.solve_block(Xt, Yt, full_k, alphas[[3] * Y.shape[1]])
    coef_d, icpt_d = _solvers.solve_block(Xt, Yt, _solvers.decompose(Xt, None, **opts), alphas[[3] * Y.shape[1]])
    np.testing.assert_allclose(coef_k.numpy(), coef_d.numpy(), atol=1e-10)
    np.testing.assert_allclose(icpt_k.numpy(), icpt_d.numpy(), atol=1e-10)


def test_dual_float32_with_large_feature_offsets():
    """Features far from zero (ReLU activations) lose nothing in float32: the rows are centred on the
    mean of all rows before the kernel is formed."""
    X, Y = _problem(80, 300)
    X = X + 50.0
    a = RidgeCV(alphas=ALPHAS, dtype="float64").fit(X, Y)
    b = RidgeCV(alphas=ALPHAS, dtype="float32").fit(X, Y)
    np.testing.assert_array_equal(a.alpha_, b.alpha_)
    np.testing.assert_allclose(b.cv_scores_, a.cv_scores_, atol=1e-4)
    np.testing.assert_allclose(b.predict(X), a.predict(X), atol=1e-3 * np.abs(a.predict(X)).max())
