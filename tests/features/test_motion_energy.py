import numpy as np
import pytest

from cortexkit.errors import ConfigError, DataError
from cortexkit.features import GaborPyramid, MotionEnergy, RandomCNN3D, extract_features
from cortexkit.render import drifting_gratings


def _drifting(direction_deg, n_frames=16, size=24, wavelength=8, tf=0.125):
    return drifting_gratings([direction_deg], [wavelength], [tf], [0.0], [1.0], size=size, n_frames=n_frames)


def test_direction_selectivity():
    right, left = _drifting(0.0), _drifting(180.0)
    me = MotionEnergy(n_directions=8, temporal_frequencies=(0.125,), min_wavelength=8, max_wavelength=8).fit(right)
    a, b = me.transform(right)[0], me.transform(left)[0]
    t = me.features_
    pref_right = t.direction == 0
    pref_left = t.direction == 180
    assert a[pref_right].mean() > 3 * a[pref_left].mean()
    assert b[pref_left].mean() > 3 * b[pref_right].mean()
    # both use the visual convention: 90 degrees is upward motion
    u = me.transform(_drifting(90.0))[0]
    assert u[t.direction == 90].mean() > 3 * u[t.direction == 270].mean()


def test_shapes_static_channels_and_determinism():
    videos = np.random.default_rng(0).random((3, 10, 16, 16)).astype(np.float32)
    me = MotionEnergy().fit(videos)
    f = me.transform(videos)
    assert f.shape == (3, len(me.features_)) and (f >= 0).all()
    assert set(me.features_["temporal_frequency"]) == {0.0, 0.0625, 0.125, 0.25}
    np.testing.assert_array_equal(f, MotionEnergy().fit(videos).transform(videos))
    rgb = np.repeat(videos[..., None], 3, axis=-1)
    np.testing.assert_allclose(MotionEnergy().fit(rgb).transform(rgb), f, rtol=1e-5, atol=1e-6)


def test_errors():
    with pytest.raises(DataError, match="expected videos"):
        MotionEnergy().fit(np.zeros((2, 8, 8)))
    with pytest.raises(ConfigError, match="temporal window of 9 frames exceeds the 4 frames"):
        MotionEnergy().fit(np.zeros((2, 4, 8, 8)))


def test_random_cnn3d():
    videos = np.random.default_rng(0).random((4, 6, 16, 16)).astype(np.float32)
    a = RandomCNN3D(seed=1).fit(videos).transform(videos)
    assert a.shape == (4, 64 * 16)
    np.testing.assert_array_equal(a, RandomCNN3D(seed=1).fit(videos).transform(videos))


def test_image_extractors_average_over_frames():
    videos = np.random.default_rng(0).random((3, 5, 16, 16)).astype(np.float32)
    out = extract_features(GaborPyramid(outputs=("energy",)), videos)["gabor"]
    frame_feats = GaborPyramid(outputs=("energy",)).fit(videos.reshape(15, 16, 16)).transform(videos.reshape(15, 16, 16))
    np.testing.assert_allclose(out, frame_feats.reshape(3, 5, -1).mean(1), rtol=1e-6)
