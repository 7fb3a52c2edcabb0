import numpy as np
import pytest

from cortexkit import data
from cortexkit.data.readers import get_reader
from cortexkit.errors import DataError

read = get_reader("sensorium2023").read
H, W, T, N = 6, 10, 20, 4


def make_mouse(root, tiers, durations, seed=0, repeat_of=None):
    """A Sensorium 2023 mouse folder in the release layout (tiny frames, 20 time points)."""
    rng = np.random.default_rng(seed)
    for d in ("videos", "responses", "behavior", "pupil_center"):
        (root / "data" / d).mkdir(parents=True)
    (root / "meta" / "trials").mkdir(parents=True)
    (root / "meta" / "neurons").mkdir(parents=True)
    np.save(root / "meta" / "trials" / "tiers.npy", np.array(tiers))
    np.save(root / "meta" / "neurons" / "cell_motor_coordinates.npy", rng.random((N, 3)) * 100)
    np.save(root / "meta" / "neurons" / "unit_ids.npy", np.arange(N) + 1)
    videos = {}
    for t, (tier, d) in enumerate(zip(tiers, durations)):
        src = (repeat_of or {}).get(t)
        v = videos[src].copy() if src is not None else np.full((H, W, T), np.nan)
        if src is None:
            v[..., :d] = rng.integers(0, 256, (H, W, d))
        videos[t] = v
        np.save(root / "data" / "videos" / f"{t}.npy", v)
        r = np.full((N, T), np.nan)
        r[:, :d] = rng.random((N, d)) + t
        np.save(root / "data" / "responses" / f"{t}.npy", r)
        np.save(root / "data" / "behavior" / f"{t}.npy", np.vstack([np.full(T, t), np.full(T, -t)]))
        np.save(root / "data" / "pupil_center" / f"{t}.npy", np.ones((2, T)) * t)
    return videos


def test_layout_repeats_and_padding(tmp_path):
    tiers = ["train", "train", "oracle", "oracle", "live_test_main", "oracle"]
    durations = [20, 18, 16, 16, 20, 16]
    videos = make_mouse(tmp_path, tiers, durations, repeat_of={3: 2, 5: 2})
    ds = read(tmp_path, frames=18)
    assert ds.sizes["trial"] == 5  # the live-test trial has no responses and is skipped
    assert ds["stimuli"].shape == (3, 18, H, W)  # oracle trials 2, 3 and 5 show one video
    counts = data.repeat_counts(ds).values
    assert sorted(counts) == [1, 1, 3]
    assert list(ds["split"].values) == ["train", "train", "test"]
    np.testing.assert_allclose(ds["stimuli"].values[0, 0], videos[0][..., 0] / 255.0, rtol=1e-6)
    stim2 = ds["stimuli"].values[2]  # 16-frame oracle video padded to 18 with gray
    np.testing.assert_allclose(stim2[16:], 0.5)
    resp = ds["responses"].values
    assert resp.shape == (5, N, 18) and np.isnan(resp[2, :, 16:]).all() and np.isfinite(resp[2, :, :16]).all()
    assert ds.attrs["sampling_rate"] == 30.0
    assert ds["behavior"].dims == ("trial", "time", "behavior_variable")
    np.testing.assert_allclose(ds["behavior"].values[1, :, 1], -1.0)
    assert list(ds["unit"].values) == [1, 2, 3, 4]
    assert list(ds["tier"].values) == ["train", "train", "oracle", "oracle", "oracle"]
    data.validate(ds, allow_nan_responses=True, check_values=True)


def test_convert_default_frames(tmp_path):
    make_mouse(tmp_path / "m", ["train", "oracle", "oracle"], [20, 12, 12], repeat_of={2: 1})
    store = data.convert(tmp_path / "m", tmp_path / "m.zarr", "sensorium2023", {"size": 3})
    ds = data.load(store)
    assert ds["stimuli"].shape == (2, 12, 3, 5)  # shortest trial; 36x64-like aspect kept
    assert ds["pupil_center"].shape == (3, 12, 2)


def test_errors(tmp_path):
    make_mouse(tmp_path, ["train", "oracle"], [20, 20])
    np.save(tmp_path / "data" / "responses" / "1.npy", np.zeros((N + 1, T)))
    with pytest.raises(DataError, match=r"responses/1.npy: expected \(4, frames\), got \(5, 20\)"):
        read(tmp_path).load()
    (tmp_path / "meta" / "trials" / "tiers.npy").unlink()
    with pytest.raises(DataError, match=r"tiers.npy: missing \(trial tiers\)"):
        read(tmp_path)


def test_video_in_two_tiers(tmp_path):
    make_mouse(tmp_path, ["train", "oracle"], [20, 20], repeat_of={1: 0})
    with pytest.raises(DataError, match="appear in both train and oracle tiers"):
        read(tmp_path)
