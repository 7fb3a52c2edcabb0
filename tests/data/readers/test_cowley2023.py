import zipfile

import imageio.v3 as iio
import numpy as np
import pytest

from cortexkit import data, metrics
from cortexkit.data.readers import get_reader
from cortexkit.errors import ConfigError, DataError

read = get_reader("cowley2023").read


def _write_session(root, session, n_units=4, n_images=10, raw=True, n_zip=None, seed=0):
    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "responses_repeat_averaged").mkdir(exist_ok=True)
    with zipfile.ZipFile(root / "images" / f"images_{session}.zip", "w") as zf:
        for i in range(1, (n_zip or n_images) + 1):
            img = rng.integers(0, 256, (112, 112, 3), dtype=np.uint8)
            zf.writestr(f"image{i:04d}.jpg", iio.imwrite("<bytes>", img, extension=".jpg"))
    reps = rng.poisson(3, (n_units, n_images, 5)).astype(float)
    reps[:, ::2, 3:] = np.nan  # even images: 3 repeats; odd: 5
    np.save(root / "responses_repeat_averaged" / f"responses_{session}.npy", np.nanmean(reps, axis=2))
    if raw:
        (root / "responses_raw").mkdir(exist_ok=True)
        np.save(root / "responses_raw" / f"responses_{session}.npy", reps)
    return reps


def test_fixture_raw_repeats_become_trials(tmp_path):
    reps = _write_session(tmp_path, "210322", raw=True)
    ds = read(tmp_path, session="210322")
    data.validate(ds, check_values=True)
    assert ds.sizes["trial"] == int(np.isfinite(reps[0]).sum()) == 5 * 5 + 5 * 3
    np.testing.assert_allclose(data.repeat_average(ds).values, np.nanmean(reps, axis=2).T, rtol=1e-6)
    assert ds["stimuli"].shape == (10, 112, 112, 3)
    assert list(ds["stimulus"].values[:2]) == ["image0001", "image0002"]
    assert (ds["animal"].values == "PE").all() and (ds["area"].values == "V4").all()


def test_fixture_average_only_and_resize(tmp_path):
    _write_session(tmp_path, "190925", raw=False)
    ds = read(tmp_path, image_size=32)
    assert ds.sizes["trial"] == 10 and ds.attrs["repeat_averaged"] == 1
    assert ds["stimuli"].shape == (10, 32, 32, 3)
    assert ds["animal"].values[0] == "WE"


def test_seeded_split(tmp_path):
    _write_session(tmp_path, "210322")
    a = read(tmp_path, seed=1)["split"].values
    assert (a == read(tmp_path, seed=1)["split"].values).all()
    assert (a == "test").sum() == 2  # round(0.2 * 10)
    assert not (a == read(tmp_path, seed=2)["split"].values).all()


def test_session_errors(tmp_path):
    _write_session(tmp_path, "210322")
    _write_session(tmp_path, "210323")
    with pytest.raises(ConfigError, match=r"choose a session .* available: \['210322', '210323'\]"):
        read(tmp_path)
    with pytest.raises(ConfigError, match="no session '999'"):
        read(tmp_path, session=999)


def test_image_count_mismatch_names_the_zip(tmp_path):
    _write_session(tmp_path, "210322", n_zip=9)
    with pytest.raises(DataError, match=r"images_210322.zip: holds 9 images but responses_210322.npy has responses to 10"):
        read(tmp_path)


def test_corrupt_zip_and_npy(tmp_path):
    _write_session(tmp_path, "210322")
    (tmp_path / "images" / "images_210322.zip").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(DataError, match=r"images_210322.zip: not a valid zip archive"):
        read(tmp_path)
    _write_session(tmp_path, "210322")
    npy = tmp_path / "responses_raw" / "responses_210322.npy"
    npy.write_bytes(npy.read_bytes()[:100])
    with pytest.raises(DataError, match=r"responses_raw/responses_210322.npy: cannot read single-repeat responses"):
        read(tmp_path)


def test_raw_shape_mismatch(tmp_path):
    _write_session(tmp_path, "210322")
    np.save(tmp_path / "responses_raw" / "responses_210322.npy", np.zeros((4, 9, 5)))
    with pytest.raises(DataError, match=r"responses_210322.npy: 'responses': expected \(n_neurons, n_images, n_repeats\)"):
        read(tmp_path)


def test_real_session_210325(shared_data):
    root = shared_data / "cowley2023_v4"
    ds = read(root, session=210325)
    raw = np.load(root / "responses_raw" / "responses_210325.npy")
    assert ds.sizes == {"stimulus": 640, "y": 112, "x": 112, "channel": 3, "trial": int(np.isfinite(raw[0]).sum()), "unit": 50}
    avg = np.load(root / "responses_repeat_averaged" / "responses_210325.npy")
    np.testing.assert_allclose(data.repeat_average(ds).values, avg.T, rtol=1e-6)
    # The source reports a Spearman-Brown split-half median of 0.77 (odd/even repeats, all images).
    rel = metrics.split_half_reliability(data.repeats(ds).values, n_splits=20)
    assert 0.7 < np.median(rel) < 0.85


@pytest.mark.parametrize("session", ["190925", "210305"])
def test_real_average_sessions(shared_data, session):
    ds = read(shared_data / "cowley2023_v4", session=session, image_size=48)
    avg = np.load(shared_data / "cowley2023_v4" / "responses_repeat_averaged" / f"responses_{session}.npy")
    assert ds.sizes["trial"] == avg.shape[1] and ds.sizes["unit"] == avg.shape[0]
    data.validate(ds, check_values=True)


def test_the_papers_split_is_the_two_halves_in_file_order(tmp_path):
    _write_session(tmp_path, "190923", n_images=10, raw=False)
    ds = read(tmp_path, session="190923", split="halves")
    assert list(ds["split"].values) == ["train"] * 5 + ["test"] * 5
    assert list(ds["stimulus"].values[:2]) == ["image0001", "image0002"] and "split_seed" not in ds.attrs
    with pytest.raises(ConfigError, match="split must be 'seeded' or 'halves', got 'odd'"):
        read(tmp_path, session="190923", split="odd")
