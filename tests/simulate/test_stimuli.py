import numpy as np
import pytest

from cortexkit.errors import ConfigError
from cortexkit.simulate import NATURAL_IMAGE_SOURCES, gratings, natural_image_crops


def test_crops_shape_range_and_seed():
    a = natural_image_crops(20, 24, seed=5)
    assert a.shape == (20, 24, 24) and a.dtype == np.float32
    assert a.min() >= 0 and a.max() <= 1
    np.testing.assert_array_equal(a, natural_image_crops(20, 24, seed=5))
    assert not np.array_equal(a, natural_image_crops(20, 24, seed=6))
    # natural images: crops differ from each other and are not flat
    assert a.reshape(20, -1).std(1).mean() > 0.02


def test_crops_color():
    c = natural_image_crops(5, 16, color=True, seed=0)
    assert c.shape == (5, 16, 16, 3)


def test_every_source_loads():
    for name in NATURAL_IMAGE_SOURCES:
        crop = natural_image_crops(1, 8, sources=[name])
        assert crop.shape == (1, 8, 8)


def test_unknown_source():
    with pytest.raises(ConfigError, match="unknown natural image source 'lena'"):
        natural_image_crops(1, 8, sources=["lena"])


def test_grating_orientation_and_wavelength():
    stim, params = gratings(32, orientations=[0, 90], wavelengths=[8], phases=[0])
    assert stim.shape == (2, 32, 32) and len(params) == 2
    vertical_bars, horizontal_bars = stim
    # orientation 0: the carrier varies along x only (columns differ, rows identical)
    assert np.allclose(vertical_bars, vertical_bars[0:1, :])
    assert np.allclose(horizontal_bars, horizontal_bars[:, 0:1])
    # period of 8 pixels along x
    np.testing.assert_allclose(vertical_bars[0, :-8], vertical_bars[0, 8:], atol=1e-6)
    assert stim.min() >= 0 and stim.max() <= 1
