import numpy as np
import pytest

from cortexkit import data
from cortexkit.data.readers import get_reader
from cortexkit.errors import DataError

read = get_reader("sensorium2023").read
H, W, T, N = 6, 10, 20, 4


def make_mouse(root, tiers, durations, seed=0, repeat_of=None, shape=(H, W, T), neurons=N):
    """A Sensorium 2023 mouse folder in the release layout (default: tiny frames, 20 time points)."""
    H, W, T = shape  # noqa: N806 - the module's sizes, replaceable
    N = neurons  # noqa: N806
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
    assert ds["stimuli"].shape == (2, 20, 3, 5)  # the longest trial; 36x64-like aspect kept
    assert ds["pupil_center"].shape == (3, 20, 2)
    resp = ds["responses"].values
    assert np.isfinite(resp[0]).all() and np.isnan(resp[1:, :, 12:]).all() and np.isfinite(resp[1:, :, :12]).all()


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
    with pytest.raises(DataError, match=r"1 video\(s\) appear in tiers of different splits \(train=train, oracle=test\)"):
        read(tmp_path)
    with pytest.raises(Exception, match=r"tiers takes tier=split pairs .* got 'oracle=holdout'"):
        read(tmp_path, tiers="train=train,oracle=holdout")


REAL_META = "real_formats/sensorium2023_metadata"
SAMPLES = 324  # every trial array of the release holds 324 samples


def release_tiers(video_ids, stimulus_ids):
    """Mouse A's tiers with the release's counts (train 350, oracle 59, live_test_main 56,
    live_test_bonus 59, final_test_main 58, final_test_bonus 138, none 20), from the real per-trial
    video and stimulus-type ids: movies shown once are train, repeated movies the oracle and main
    test tiers, the parametric stimulus types the bonus tiers, trials without a video no tier."""
    import collections

    tiers = np.full(len(video_ids), "none", dtype="<U16")
    movie = stimulus_ids == 0
    counts = collections.Counter(video_ids[movie].tolist())
    tiers[movie & np.isin(video_ids, [k for k, c in counts.items() if c == 1])] = "train"
    by = {c: sorted(k for k, n in counts.items() if n == c) for c in (10, 9, 8)}
    for ids, tier in ((by[10][:5] + by[9][:1], "oracle"), (by[10][5:7] + by[9][1:5], "live_test_main"),
                      (by[10][7:] + by[8], "final_test_main")):
        tiers[movie & np.isin(video_ids, ids)] = tier
    tiers[stimulus_ids == 1] = "live_test_bonus"
    tiers[np.isin(stimulus_ids, [2, 3])] = "final_test_bonus"
    return tiers


def test_real_mouse_a_metadata(shared_data, tmp_path):
    """A folder with mouse A's real neuron coordinates, 740 trials and their tiers, and the release's
    324-sample arrays (NaN after 300 for train/oracle, after 240-324 for bonus tiers, behaviour valid
    for all 324, pupil for 300): every valid sample is kept and nothing past it."""
    import collections

    meta = shared_data / REAL_META
    xyz = np.load(meta / "neuron_coordinates" / "mouseA.npy")
    video_ids = np.load(meta / "video_ids" / "mouseA.npy")
    tiers = release_tiers(video_ids, np.load(meta / "stimulus_ids" / "mouseA.npy"))
    assert len(tiers) == 740 and collections.Counter(tiers.tolist()) == {
        "train": 350, "oracle": 59, "live_test_main": 56, "live_test_bonus": 59, "final_test_main": 58,
        "final_test_bonus": 138, "none": 20}
    rng = np.random.default_rng(0)
    ids = np.sort(np.concatenate([[1, 8195], rng.choice(np.arange(2, 8195), len(xyz) - 2, replace=False)]))
    root = tmp_path / "dynamic29156-11-10-Video-8744edeac3b4d1ce16b680916b5267ce"
    for d in ("videos", "responses", "behavior", "pupil_center"):
        (root / "data" / d).mkdir(parents=True)
    (root / "meta" / "trials").mkdir(parents=True)
    (root / "meta" / "neurons").mkdir(parents=True)
    np.save(root / "meta" / "trials" / "tiers.npy", tiers)
    np.save(root / "meta" / "neurons" / "cell_motor_coordinates.npy", xyz)
    np.save(root / "meta" / "neurons" / "unit_ids.npy", ids)
    # Trial files for the first 30 trials of the train, oracle and live_test_bonus tiers (20, 9 and 1):
    # nothing else is written, so a reader touching a trial of another tier fails.
    wanted = np.flatnonzero(np.isin(tiers, ["train", "oracle", "live_test_bonus"]))[:30]
    clips, valid = {}, {}
    for t in wanted:
        n = 300 if tiers[t] != "live_test_bonus" else int(rng.integers(240, SAMPLES + 1))
        valid[t] = n
        clip = clips.setdefault(video_ids[t], rng.integers(0, 256, (36, 64, SAMPLES)).astype(np.float32))
        video = clip.copy()
        video[..., n:] = np.nan
        responses = rng.random((len(xyz), SAMPLES)).astype(np.float32)
        responses[:, n:] = np.nan
        pupil = rng.random((2, SAMPLES)).astype(np.float32)
        pupil[:, 300:] = np.nan
        for kind, a in (("videos", video), ("responses", responses), ("behavior", rng.random((2, SAMPLES))), ("pupil_center", pupil)):
            np.save(root / "data" / kind / f"{t}.npy", a)
    train_oracle = [t for t in wanted if tiers[t] != "live_test_bonus"]
    ds = read(root, max_trials=len(train_oracle))
    assert list(ds["source_trial"].values) == train_oracle
    assert list(ds["unit"].values) == list(ids) and ds.sizes["unit"] == 7440
    np.testing.assert_array_equal(np.stack([ds[c].values for c in ("cortex_x", "cortex_y", "cortex_z")], 1), xyz)
    assert ds.sizes["time"] == 300 and np.isfinite(ds["responses"].values).all()  # all valid, none past
    assert np.isfinite(ds["behavior"].values).all() and np.isfinite(ds["pupil_center"].values).all()
    oracle = [t for t in train_oracle if tiers[t] == "oracle"]
    counts = data.repeat_counts(ds)
    assert sorted(counts.values[ds["split"].values == "test"]) == sorted(collections.Counter(video_ids[oracle]).values())
    # with a bonus tier read too, trials span its length; shorter ones are NaN-padded after their end
    ds = read(root, tiers="train=train,oracle=test,live_test_bonus=test", max_trials=30)
    bonus = next(t for t in wanted if tiers[t] == "live_test_bonus")
    assert ds.sizes["trial"] == 30 and ds.sizes["time"] == max(300, valid[bonus])
    resp = ds["responses"].values
    for i, t in enumerate(ds["source_trial"].values):
        n = valid[int(t)]
        assert np.isfinite(resp[i, :, :n]).all() and np.isnan(resp[i, :, n:]).all()
        behavior = ds["behavior"].values[i]
        assert np.isfinite(behavior[:n]).all() and np.isnan(behavior[n:]).all()  # valid in the file, cut at the end
        assert np.isfinite(ds["pupil_center"].values[i, : min(n, 300)]).all()
