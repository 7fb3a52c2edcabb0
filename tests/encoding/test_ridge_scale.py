"""RidgeCV at scale: the two scoring paths, memory-bounded blocks, lazy targets, Dask."""

import dask.array as da
import numpy as np
import pytest
import torch
import xarray as xr
import zarr
from sklearn.model_selection import KFold

from cortexkit.encoding import RidgeCV
from cortexkit.encoding.ridge import _solvers
from cortexkit.memory import parse_memory
from cortexkit.errors import ConfigError, DataError

ALPHAS = np.logspace(-2, 5, 12)


def _problem(n=300, p=60, t=40, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p)).astype(np.float32)
    Y = (X @ rng.standard_normal((p, t)) * rng.uniform(0, 1, t) + rng.standard_normal((n, t)) * 3).astype(np.float32)
    return X, Y


@pytest.mark.parametrize("scoring", ["r2", "pearson", "neg_mse"])
@pytest.mark.parametrize("n, p", [(200, 50), (60, 150)], ids=["primal", "dual"])
def test_scoring_paths_match_explicit_predictions(scoring, n, p):
    """Partial-fraction and stacked-product scoring both equal scores of explicit predictions."""
    X, Y = (torch.as_tensor(a, dtype=torch.float64) for a in _problem(n, p, 7))
    folds = [(torch.as_tensor(a), torch.as_tensor(b)) for a, b in KFold(4, shuffle=True, random_state=0).split(np.zeros(n))]
    alphas = torch.as_tensor(ALPHAS)
    expected = torch.zeros(len(alphas), Y.shape[1], dtype=torch.float64)
    for train, val in folds:  # brute force: center, solve, predict, score
        mx, my = X[train].mean(0), Y[train].mean(0)
        Xc, Yc = X[train] - mx, Y[train] - my
        for i, a in enumerate(alphas):
            W = torch.linalg.solve(Xc.T @ Xc + a * torch.eye(p, dtype=torch.float64), Xc.T @ Yc)
            pred, yv = (X[val] - mx) @ W + my, Y[val]
            if scoring == "r2":
                s = 1 - ((yv - pred) ** 2).sum(0) / ((yv - yv.mean(0)) ** 2).sum(0)
            elif scoring == "neg_mse":
                s = -((yv - pred) ** 2).mean(0)
            else:
                s = torch.stack([torch.corrcoef(torch.stack([yv[:, j], pred[:, j]]))[0, 1] for j in range(Y.shape[1])])
            expected[i] += s / len(folds)
    for prepare in (lambda f: _solvers.attach_quadratics(f), lambda f: _solvers.stack_alphas(f, alphas, 5), lambda f: None):
        dec = _solvers.decompose_folds(X, folds)
        prepare(dec)
        got = _solvers.cv_scores_block(X, Y, dec, alphas, scoring=scoring, alpha_batch=5)
        torch.testing.assert_close(got, expected, rtol=1e-8, atol=1e-8)


def test_partial_fractions_with_repeated_eigenvalues():
    """Duplicated and constant features give equal eigenvalues; the scores stay exact."""
    X, Y = _problem(150, 20, 6)
    X[:, 1] = X[:, 0]
    X[:, 2] = X[:, 0]
    X[:, 3] = 1.0
    X64, Y64 = torch.as_tensor(X, dtype=torch.float64), torch.as_tensor(Y, dtype=torch.float64)
    folds = [(torch.as_tensor(a), torch.as_tensor(b)) for a, b in KFold(3).split(X)]
    alphas = torch.as_tensor(ALPHAS)
    a = _solvers.decompose_folds(X64, folds)
    _solvers.attach_quadratics(a)
    assert any(len(f.quad.pairs[2]) for f in a)
    b = _solvers.decompose_folds(X64, folds)
    torch.testing.assert_close(_solvers.cv_scores_block(X64, Y64, a, alphas), _solvers.cv_scores_block(X64, Y64, b, alphas))


def test_memory_budget_blocks_give_the_same_fit():
    X, Y = _problem(400, 80, 300)
    free = RidgeCV(alphas=ALPHAS).fit(X, Y)
    tight = RidgeCV(alphas=ALPHAS, max_memory="2MB").fit(X, Y)
    assert tight.block_size_ < 300 and free.block_size_ == 300
    np.testing.assert_array_equal(free.alpha_, tight.alpha_)
    np.testing.assert_allclose(free.coef_, tight.coef_, rtol=1e-5, atol=1e-6)
    with pytest.raises(ConfigError, match="max_memory=0 MiB is too small"):
        RidgeCV(alphas=ALPHAS, max_memory=1000).fit(X, Y)


def test_parse_memory():
    assert parse_memory("2GB") == 2 * 2**30 and parse_memory("512 mb") == 512 * 2**20 and parse_memory(1000) == 1000
    with pytest.raises(ConfigError, match="max_memory must be bytes or a size"):
        parse_memory("lots")


def test_lazy_targets_from_zarr(tmp_path):
    X, Y = _problem(300, 40, 90)
    ref = RidgeCV(alphas=ALPHAS, chunk_size=32).fit(X, Y)
    store = tmp_path / "y.zarr"
    xr.Dataset({"y": (("sample", "target"), Y)}).chunk({"target": 32}).to_zarr(store, consolidated=False)
    lazy = xr.open_zarr(store, consolidated=False)["y"].data  # a Dask array: blocks are read when needed
    assert isinstance(lazy, da.Array)
    fit = RidgeCV(alphas=ALPHAS, chunk_size=32).fit(X, lazy)
    np.testing.assert_array_equal(fit.coef_, ref.coef_)
    raw = zarr.open_array(str(store / "y"), mode="r")
    np.testing.assert_array_equal(RidgeCV(alphas=ALPHAS, chunk_size=32).fit(X, raw).coef_, ref.coef_)


def test_lazy_targets_with_nan_are_named():
    X, Y = _problem(100, 10, 20)
    Y[5, 13] = np.nan
    with pytest.raises(DataError, match=r"'y': contains NaN/inf \(first in target 13\)"):
        RidgeCV(alphas=ALPHAS, chunk_size=8).fit(X, da.from_array(Y, chunks=(100, 8)))


@pytest.mark.slow  # over 8 s; CI runs it
def test_dask_local_cluster_matches_single_process(tmp_path):
    distributed = pytest.importorskip("distributed")
    X, Y = _problem(300, 50, 120)
    store = tmp_path / "y.zarr"
    xr.Dataset({"y": (("sample", "target"), Y)}).chunk({"target": 40}).to_zarr(store, consolidated=False)
    ref = RidgeCV(alphas=ALPHAS, chunk_size=40).fit(X, Y)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        lazy = xr.open_zarr(store, consolidated=False)["y"].data  # the workers read their blocks from the shared store
        fit = RidgeCV(alphas=ALPHAS, chunk_size=40, scheduler=client).fit(X, lazy)
        by_address = RidgeCV(alphas=ALPHAS, chunk_size=40, scheduler=cluster.scheduler_address).fit(X, Y)
    np.testing.assert_array_equal(fit.alpha_, ref.alpha_)
    np.testing.assert_allclose(fit.coef_, ref.coef_, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(fit.cv_scores_, ref.cv_scores_, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(by_address.coef_, ref.coef_, rtol=1e-5, atol=1e-6)
