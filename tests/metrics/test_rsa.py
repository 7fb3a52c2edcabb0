import numpy as np
import pytest
from scipy.spatial.distance import pdist, squareform
from scipy.stats import spearmanr

from cortexkit import metrics
from cortexkit.errors import DataError


def test_rdm_matches_scipy():
    x = np.random.default_rng(0).standard_normal((10, 6))
    np.testing.assert_allclose(metrics.rdm(x), squareform(pdist(x, "correlation")), atol=1e-12)
    np.testing.assert_allclose(metrics.rdm(x, "euclidean"), squareform(pdist(x)), atol=1e-9)


def test_rsa_matches_scipy_spearman():
    rng = np.random.default_rng(1)
    a, b = metrics.rdm(rng.standard_normal((12, 5))), metrics.rdm(rng.standard_normal((12, 5)))
    iu = np.triu_indices(12, 1)
    assert metrics.rsa(a, b) == pytest.approx(spearmanr(a[iu], b[iu])[0])
    assert metrics.rsa(a, a) == pytest.approx(1.0)


def test_cka_properties():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((50, 8))
    q, _ = np.linalg.qr(rng.standard_normal((8, 8)))
    assert metrics.linear_cka(x, x) == pytest.approx(1.0)
    assert metrics.linear_cka(x, 3.0 * x @ q + 5.0) == pytest.approx(1.0)  # orthogonal, scale, shift invariant
    assert metrics.linear_cka(x, rng.standard_normal((50, 8))) < 0.4
    # the feature-space formula gives the same number
    xc = x - x.mean(0)
    y = rng.standard_normal((50, 3))
    yc = y - y.mean(0)
    direct = np.linalg.norm(yc.T @ xc) ** 2 / (np.linalg.norm(xc.T @ xc) * np.linalg.norm(yc.T @ yc))
    assert metrics.linear_cka(x, y) == pytest.approx(direct)


def test_compare_matrix_and_errors():
    rng = np.random.default_rng(3)
    base = rng.standard_normal((30, 4))
    spaces = {"a": base, "b": base @ rng.standard_normal((4, 6)), "c": rng.standard_normal((30, 5))}
    m = metrics.compare_representations(spaces)
    assert m.shape == (3, 3) and np.allclose(m, m.T) and np.allclose(np.diag(m), 1)
    assert m[0, 1] > m[0, 2]
    r = metrics.compare_representations(spaces, method="rsa")
    assert r[0, 1] > r[0, 2]
    with pytest.raises(DataError, match="'y': x has 30 stimuli but y has 29"):
        metrics.linear_cka(base, base[:-1])
