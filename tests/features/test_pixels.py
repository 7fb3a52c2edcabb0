import numpy as np
import pytest
from sklearn.decomposition import PCA

from cortexkit.errors import DataError
from cortexkit.features import PixelPCA, Pixels, get_extractor
from cortexkit.errors import ConfigError


@pytest.fixture
def images():
    return np.random.default_rng(0).random((50, 6, 5, 3)).astype(np.float32)


def test_pixels_flatten_and_grayscale(images):
    f = Pixels().fit(images).transform(images)
    assert f.shape == (50, 90) and f.dtype == np.float32
    g = Pixels(grayscale=True).fit(images).transform(images)
    np.testing.assert_allclose(g[0], (images[0] @ [0.2125, 0.7154, 0.0721]).ravel(), rtol=1e-6)


@pytest.mark.parametrize("extractor", [Pixels(), Pixels(grayscale=True), PixelPCA(10), PixelPCA(10, whiten=True)])
def test_receptive_fields_are_the_equivalent_pixel_weights(images, extractor):
    # For a linear extractor, features @ w == (pixels - offset) @ rf: predictions are preserved.
    feats = extractor.fit(images).transform(images)
    w = np.random.default_rng(1).standard_normal((2, feats.shape[1]))
    rf = extractor.receptive_fields(w)
    gray = isinstance(extractor, (Pixels, PixelPCA)) and extractor.grayscale
    assert rf.shape == (2,) + (images.shape[1:3] if gray else images.shape[1:])
    pix = Pixels(grayscale=gray).fit(images).transform(images)
    a = feats @ w.T
    b = pix @ rf.reshape(2, -1).T
    np.testing.assert_allclose(a - a.mean(0), b - b.mean(0), atol=1e-3)


def test_pca_matches_sklearn(images):
    ours = PixelPCA(7, random_state=0).fit(images[:40])
    ref = PCA(7, random_state=0).fit(images[:40].reshape(40, -1))
    np.testing.assert_allclose(np.abs(ours.transform(images[40:])), np.abs(ref.transform(images[40:].reshape(10, -1))), atol=1e-4)


def test_shape_checks(images):
    ext = Pixels().fit(images)
    with pytest.raises(DataError, match=r"'stimuli': stimuli have shape \(6, 5\) per item; this extractor was fitted on \(6, 5, 3\)"):
        ext.transform(images[..., 0])
    with pytest.raises(DataError, match="'stimuli': contains NaN"):
        ext.transform(np.full_like(images, np.nan))
    with pytest.raises(DataError, match=r"'stimuli': expected images shaped"):
        Pixels().fit(np.zeros((3, 4)))


def test_registry():
    assert isinstance(get_extractor("pixel_pca", {"n_components": 3}), PixelPCA)
    with pytest.raises(ConfigError, match="unknown feature extractor 'resnet50'"):
        get_extractor("resnet50")
    with pytest.raises(ConfigError, match="bad parameters for feature extractor 'pixels'"):
        get_extractor("pixels", {"n_components": 3})
