import numpy as np

from cortexkit.features import GaborPyramid, PixelPCA
from cortexkit.features.base import extract_features
from cortexkit.features.cache import FeatureCache, feature_key


def test_hit_miss_and_invalidation(tmp_path):
    rng = np.random.default_rng(0)
    train, test = rng.random((30, 8, 8)).astype(np.float32), rng.random((10, 8, 8)).astype(np.float32)
    cache = FeatureCache(tmp_path)
    first = cache.features(PixelPCA(5), test, train)
    assert (cache.hits, cache.misses, cache.rows_computed) == (0, 1, 10)
    again = cache.features(PixelPCA(5), test, train)
    assert (cache.hits, cache.misses) == (1, 1)
    np.testing.assert_array_equal(first["pixel_pca"], again["pixel_pca"])
    # a PCA learns from its fitting stimuli: other parameters or other fitting stimuli are other stores
    cache.features(PixelPCA(6), test, train)
    cache.features(PixelPCA(5), test, train[:-1])
    assert cache.misses == 3 and len([p for p in tmp_path.iterdir() if p.is_dir()]) == 3
    # a changed stimulus is one new row in the same store, the others are served
    changed = test.copy()
    changed[0, 0, 0] += 0.01
    out = cache.features(PixelPCA(5), changed, train)
    assert cache.misses == 4 and cache.rows_computed == 31
    np.testing.assert_array_equal(out["pixel_pca"][1:], first["pixel_pca"][1:])
    fresh = extract_features(PixelPCA(5), changed, fit_stimuli=train)["pixel_pca"]
    np.testing.assert_allclose(out["pixel_pca"], fresh, rtol=1e-5, atol=1e-6)


def test_rows_are_shared_between_recordings_of_the_same_stimuli(tmp_path):
    """Sessions that show overlapping stimuli (other fitting sets, other orders, repeats) compute each
    stimulus once for extractors that do not learn from the stimuli, and the features equal a fresh
    extraction row for row."""
    rng = np.random.default_rng(2)
    pool = rng.random((40, 16, 16)).astype(np.float32)
    spec = dict(n_orientations=4, min_wavelength=4, outputs=["energy"])
    cache = FeatureCache(tmp_path)
    a = cache.features(GaborPyramid(**spec), pool[:25], pool[:25])
    assert cache.rows_computed == 25
    order = np.array([30, 3, 3, 24, 0, 39, 10, 31])  # 30, 39 and 31 new; 3 shown twice
    b = cache.features(GaborPyramid(**spec), pool[order], pool[20:])  # fitted on other stimuli of that shape
    assert cache.rows_computed == 25 + 3 and (cache.hits, cache.misses) == (0, 2)
    want = extract_features(GaborPyramid(**spec), pool[order])["gabor"]
    np.testing.assert_allclose(b["gabor"], want, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(b["gabor"][1], a["gabor"][3])
    np.testing.assert_array_equal(b["gabor"][1], b["gabor"][2])
    c = cache.features(GaborPyramid(**spec), pool[order[::-1]], pool[:3])
    assert cache.hits == 1 and cache.rows_computed == 28
    np.testing.assert_array_equal(c["gabor"], b["gabor"][::-1])
    # another stimulus shape is another store
    assert feature_key(GaborPyramid(**spec), pool[:, :8, :8]) != feature_key(GaborPyramid(**spec), pool)


def test_damaged_entry_is_recomputed(tmp_path):
    x = np.random.default_rng(1).random((12, 6, 6)).astype(np.float32)
    cache = FeatureCache(tmp_path)
    good = cache.features(PixelPCA(3), x, x)
    key = feature_key(PixelPCA(3), x)
    for f in (tmp_path / key).rglob("*"):
        if f.is_file() and f.name != "zarr.json":
            f.write_bytes(b"damaged")
    again = FeatureCache(tmp_path)
    out = again.features(PixelPCA(3), x, x)
    assert again.rows_computed == 12
    np.testing.assert_allclose(out["pixel_pca"], good["pixel_pca"], rtol=1e-6)


def test_weights_change_invalidates(tmp_path):
    import torch

    from cortexkit.features import PretrainedCNN
    from cortexkit.features.networks import build

    path = tmp_path / "w.pt"
    torch.save(build("alexnet", "random", seed=0).state_dict(), path)
    x = np.zeros((2, 8, 8), np.float32)
    k1 = feature_key(PretrainedCNN("alexnet", weights=str(path)), x)
    torch.save(build("alexnet", "random", seed=1).state_dict(), path)
    import os

    os.utime(path, ns=(1, 1))
    assert feature_key(PretrainedCNN("alexnet", weights=str(path)), x) != k1
