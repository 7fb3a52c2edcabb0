import numpy as np
import pytest
import scipy.io as sio

from cortexkit import data
from cortexkit.data.readers import get_reader
from cortexkit.errors import ConfigError, DataError
from cortexkit.render import random_dots

read = get_reader("gold_mt").read


def test_real_tuning(shared_data):
    path = shared_data / "gold_mt_dots" / "HW5_data.mat"
    ds = read(path, cell=0, measure="count", size=16, frame_rate=10)
    rec = sio.loadmat(path, squeeze_me=True, struct_as_record=False)["cellArrayOfCells"][0, 0]
    d = rec.ecodes.data
    assert ds.sizes["trial"] == d.shape[0] == ds.sizes["stimulus"]  # one movie per trial
    counts = [((s >= a) & (s < b)).sum() for s, a, b in zip(rec.spikes, d[:, 0], d[:, 1])]
    np.testing.assert_array_equal(ds["responses"].values[:, 0], counts)
    assert sorted(np.unique(ds["direction"].values)) == [0, 45, 90, 135, 180, 225, 270, 315]
    assert ds["stimuli"].dims == ("stimulus", "frame", "y", "x")


def test_real_coherence_conditions(shared_data):
    ds = read(shared_data / "gold_mt_dots", cell=0, experiment="coherence", stimulus_per="condition", size=16, frame_rate=10)
    assert ds.sizes["stimulus"] == 14 and ds.sizes["trial"] == 665
    assert sorted(np.round(ds["coherence"].values.astype(float) * 100, 1).tolist()) == sorted([0.0, 3.2, 6.4, 12.8, 25.6, 51.2, 99.9] * 2)
    rates = ds["responses"].values[:, 0]
    assert rates.max() < 500 and rates.mean() > 1  # spikes per second
    data.validate(ds, check_values=True)


def test_bad_options(shared_data):
    with pytest.raises(ConfigError, match="cell must be 0..4"):
        read(shared_data / "gold_mt_dots", cell=7)
    with pytest.raises(ConfigError, match="experiment must be one of"):
        read(shared_data / "gold_mt_dots", experiment="speed")


def test_wrong_mat(tmp_path):
    sio.savemat(tmp_path / "x.mat", {"other": np.zeros(3)})
    with pytest.raises(DataError, match=r"x.mat: no variable 'cellArrayOfCells'"):
        read(tmp_path / "x.mat")


def _shift(a, b):
    """Displacement (rows, cols) maximising the circular cross-correlation of two frames."""
    f = np.fft.ifft2(np.fft.fft2(a).conj() * np.fft.fft2(b)).real
    r, c = np.unravel_index(np.argmax(f), f.shape)
    n = a.shape[0]
    return (r + n // 2) % n - n // 2, (c + n // 2) % n - n // 2


def test_dots_move_coherently():
    # 100% coherence rightward at 10 deg/s, 10 frames/s, 64 px over 8 deg: 1 deg = 8 px per frame.
    movie = random_dots([0.0], [1.0], duration=0.5, size=64, field_deg=8.0, speed=10.0, frame_rate=10, density=3.0)[0]
    assert _shift(movie[1], movie[2]) == (0, 8)
    up = random_dots([90.0], [1.0], duration=0.5, size=64, field_deg=8.0, speed=10.0, frame_rate=10, density=3.0)[0]
    assert _shift(up[1], up[2]) == (-8, 0)  # upward motion: rows decrease
    noise = random_dots([0.0], [0.0], duration=0.5, size=64, field_deg=8.0, speed=10.0, frame_rate=10, density=3.0)[0]
    assert _shift(noise[1], noise[2]) != (0, 8)
    # After the motion ends the screen is blank.
    short = random_dots([0.0], [1.0], duration=0.2, total_duration=0.5, frame_rate=10)[0]
    assert short[:2].sum() > 0 and short[2:].sum() == 0
