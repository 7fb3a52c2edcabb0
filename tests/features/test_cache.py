import numpy as np

from cortexkit.features import PixelPCA
from cortexkit.features.cache import FeatureCache, feature_key


def test_hit_miss_and_invalidation(tmp_path):
    rng = np.random.default_rng(0)
    train, test = rng.random((30, 8, 8)).astype(np.float32), rng.random((10, 8, 8)).astype(np.float32)
    cache = FeatureCache(tmp_path)
    first = cache.features(PixelPCA(5), test, train)
    assert (cache.hits, cache.misses) == (0, 1)
    again = cache.features(PixelPCA(5), test, train)
    assert (cache.hits, cache.misses) == (1, 1)
    np.testing.assert_array_equal(first["pixel_pca"], again["pixel_pca"])
    # any change of parameters, fitting stimuli or stimuli is a different entry
    cache.features(PixelPCA(6), test, train)
    cache.features(PixelPCA(5), test, train[:-1])
    changed = test.copy()
    changed[0, 0, 0] += 0.01
    cache.features(PixelPCA(5), changed, train)
    assert cache.misses == 4 and len(list(tmp_path.glob("*.zarr"))) == 4


def test_damaged_entry_is_recomputed(tmp_path):
    x = np.random.default_rng(1).random((12, 6, 6)).astype(np.float32)
    cache = FeatureCache(tmp_path)
    good = cache.features(PixelPCA(3), x, x)
    key = feature_key(PixelPCA(3), x, x)
    for f in (tmp_path / f"{key}.zarr").rglob("*"):
        if f.is_file() and f.name != "zarr.json":
            f.write_bytes(b"damaged")
    again = FeatureCache(tmp_path).features(PixelPCA(3), x, x)
    np.testing.assert_allclose(again["pixel_pca"], good["pixel_pca"], rtol=1e-6)


def test_weights_change_invalidates(tmp_path):
    import torch

    from cortexkit.features import PretrainedCNN
    from cortexkit.features.networks import build

    path = tmp_path / "w.pt"
    torch.save(build("alexnet", "random", seed=0).state_dict(), path)
    x = np.zeros((2, 8, 8), np.float32)
    k1 = feature_key(PretrainedCNN("alexnet", weights=str(path)), x, x)
    torch.save(build("alexnet", "random", seed=1).state_dict(), path)
    import os

    os.utime(path, ns=(1, 1))
    assert feature_key(PretrainedCNN("alexnet", weights=str(path)), x, x) != k1
