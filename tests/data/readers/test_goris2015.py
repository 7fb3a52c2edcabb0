import numpy as np
import pandas as pd
import pytest
import scipy.io as sio

from cortexkit import data
from cortexkit.data import overlap
from cortexkit.data.readers import get_reader
from cortexkit.errors import ConfigError, DataError
from cortexkit.render import drifting_gratings

read = get_reader("goris2015").read


@pytest.mark.slow  # about 8 s on 2 cores (the whole real file); CI runs it
def test_real_unit(shared_data):
    root = shared_data / "goris2015_v1v2"
    ds = read(root, unit="m625r62", size=16, frame_rate=20)
    mat = sio.loadmat(root / "m625r62_tp.mat", squeeze_me=True, struct_as_record=False)["S"].tp.exp
    assert ds.sizes["trial"] == 1442
    np.testing.assert_array_equal(ds["responses"].values[:, 0], mat.trial.spikeCount)
    counts = data.repeat_counts(ds).to_series()
    assert counts["blank"] == 130 and counts.drop("blank").max() > 1
    # Trials share a stimulus exactly when they show the same components (those of zero contrast
    # are not on the screen: their drift rate, which the file varies, does not count).
    field = {f: np.stack([np.asarray(c, dtype=float) for c in getattr(mat.trial, f)], axis=1)
             for f in ("ori", "sf", "tf", "ph", "con")}  # trial, component
    on = np.nan_to_num(field["con"], nan=0.0) > 0
    shown = [tuple(sorted(zip(*(np.round(field[f][t][on[t]], 6) for f in field)))) for t in range(len(on))]
    sets = pd.Series(shown).groupby(ds["stimulus_id"].values).agg(lambda v: len(set(v)))
    assert (sets == 1).all() and len(sets) == len(set(shown))
    # near-copies (a drift rate jittered by a few percent) are on one side of the split
    assert overlap.split_overlap(ds).empty
    assert ds["stimuli"].shape[1:] == (20, 16, 16)
    blank = ds["stimuli"].sel(stimulus="blank").values
    np.testing.assert_allclose(blank, 0.5)
    assert ds["area"].values[0] == "V1"
    assert ds.attrs["field_deg"] == pytest.approx(mat.size)
    assert data.select(ds, "train").sel(stimulus="blank") is not None


def test_real_binned(shared_data):
    ds = read(shared_data / "goris2015_v1v2", unit="m625r62", size=8, frame_rate=10, time_bin=0.1)
    assert ds["responses"].dims == ("trial", "unit", "time") and ds.sizes["time"] == 10
    assert ds.attrs["sampling_rate"] == 10.0
    mat = sio.loadmat(shared_data / "goris2015_v1v2" / "m625r62_tp.mat", squeeze_me=True, struct_as_record=False)
    # Every spike of a 1-s trial lands in one of the 10 bins.
    np.testing.assert_array_equal(ds["responses"].values.sum(-1)[:, 0], mat["S"].tp.exp.trial.spikeCount)


def test_unit_choice(shared_data):
    with pytest.raises(ConfigError, match="choose a unit"):
        read(shared_data / "goris2015_v1v2")
    with pytest.raises(ConfigError, match="no unit 'm000'"):
        read(shared_data / "goris2015_v1v2", unit="m000")


def test_corrupt_mat(tmp_path):
    (tmp_path / "m1_tp.mat").write_bytes(b"MATLAB 5.0 MAT-file garbage")
    with pytest.raises(DataError, match=r"m1_tp.mat: cannot read the MATLAB file"):
        read(tmp_path)


def test_missing_field(tmp_path):
    sio.savemat(tmp_path / "m1_tp.mat", {"S": {"tp": {"exp": {"trial": {"spikeCount": np.arange(3)}}}}})
    with pytest.raises(DataError, match=r"m1_tp.mat: 'trial.ori': missing field S.tp.exp.trial.ori|missing field S.tp.exp.trial.ori"):
        read(tmp_path)


def test_rendered_grating_frequencies():
    # One component: 2 cycles/deg drifting rightward at 4 Hz over a 2-degree field at 64 px, 40 frames/s,
    # as the reader converts it: 16 px per cycle, 0.1 cycles per frame.
    movie = drifting_gratings([0.0], [64 / (2.0 * 2.0)], [4.0 / 40], [0.0], [1.0], size=64, n_frames=20)[0]
    row = movie[0, 32] - 0.5
    spectrum = np.abs(np.fft.rfft(row))
    assert np.argmax(spectrum) == 4  # 2 cpd x 2 deg = 4 cycles across the image
    # 4 Hz at 40 frames/s: the pattern repeats every 10 frames and has moved right after 1 frame.
    np.testing.assert_allclose(movie[10], movie[0], atol=1e-5)
    shift = np.argmax([np.dot(np.roll(movie[0, 32], k), movie[1, 32]) for k in range(-4, 5)]) - 4
    assert shift > 0
    assert movie.min() >= 0 and movie.max() <= 1
