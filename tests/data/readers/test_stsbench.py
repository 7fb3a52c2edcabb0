import pickle

import av
import numpy as np
import pandas as pd
import pytest

from cortexkit import data
from cortexkit.data.readers import get_reader
from cortexkit.data.readers._video import read_video
from cortexkit.errors import DataError


def write_video(path, frames, rate=30):
    """Encode (t, h, w, 3) uint8 frames as MPEG-4 in an .mp4 container."""
    with av.open(str(path), "w") as c:
        s = c.add_stream("mpeg4", rate=rate)
        s.height, s.width = frames.shape[1:3]
        s.pix_fmt = "yuv420p"
        s.bit_rate = 4_000_000
        for f in frames:
            for p in s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)


def _brightness_movie(level, n=6, h=272, w=416):
    # Uniform frames whose gray level steps up by 20 per frame: easy to check after lossy coding.
    return np.stack([np.full((h, w, 3), min(255, level + 20 * k), np.uint8) for k in range(n)])


@pytest.fixture
def stsbench_dir(tmp_path):
    return make_stsbench(tmp_path)


def make_stsbench(tmp_path):
    """An STSBench release in miniature: four clips, the dataset pickle (one neuron not recorded on
    one stimulus) and the neuron table."""
    names = {"train": ["vidA", "vidB", "vidC"], "test": ["vidD"]}
    (tmp_path / "dorsal_stream").mkdir()
    for i, n in enumerate(names["train"] + names["test"]):
        write_video(tmp_path / "dorsal_stream" / f"{n}.mp4", _brightness_movie(40 * i))
    rng = np.random.default_rng(0)
    activity = {s: rng.random((len(v), 5)) for s, v in names.items()}
    activity["train"][0, 1] = np.nan  # a neuron not recorded for one stimulus
    blob = {"train_stimuli": np.array(names["train"]), "test_stimuli": np.array(names["test"]),
            "train_activity": activity["train"], "test_activity": activity["test"]}
    with open(tmp_path / "dorsal_stream_dataset.pickle", "wb") as fh:
        pickle.dump(blob, fh)
    table = pd.DataFrame({"neuron_uid": [4, 3, 2, 1, 0], "monkey_id": list("TTAAA"), "rf_x": np.arange(5.0)})
    table.to_pickle(tmp_path / "dorsal_stream_neuron_table.pickle")
    return tmp_path, activity


def test_stsbench_layout(stsbench_dir):
    path, activity = stsbench_dir
    ds = get_reader("stsbench").read(path, size=16)
    assert ds["stimuli"].dims == ("stimulus", "frame", "y", "x", "channel")
    assert ds["stimuli"].shape == (4, 5, 16, 16, 3)
    data.validate(ds, allow_nan_responses=True, check_values=True)
    assert list(ds["split"].values) == ["train"] * 3 + ["test"]
    np.testing.assert_allclose(ds["responses"].values[3], activity["test"][0])
    assert np.isnan(ds["responses"].values[0, 1])
    assert list(ds["monkey_id"].values) == list("AAATT")  # sorted by neuron_uid
    # Frame k of stimulus i has gray level 40 i + 20 k (lossy coding: within a few levels).
    levels = ds["stimuli"].values.mean(axis=(2, 3, 4)) * 255
    expected = 40 * np.arange(4)[:, None] + 20 * np.arange(5)[None, :]
    np.testing.assert_allclose(levels, expected, atol=4)


def test_convert_stsbench(stsbench_dir, tmp_path):
    path, _ = stsbench_dir
    store = data.convert(path, tmp_path / "out.zarr", "stsbench", {"size": 8, "frames": 3})
    ds = data.load(store)
    assert ds["stimuli"].shape == (4, 3, 8, 8, 3)


def test_resampling_and_errors(stsbench_dir):
    path, _ = stsbench_dir
    video = path / "dorsal_stream" / "vidA.mp4"
    # 6 frames at 30 Hz resampled to 15 Hz: source frames 0, 2, 4.
    frames = read_video(video, frame_rate=15, grayscale=True)
    np.testing.assert_allclose(frames.mean(axis=(1, 2)) * 255, [0, 40, 80], atol=4)
    with pytest.raises(DataError, match=r"vidA.mp4: has 6 frames; 9 needed"):
        read_video(video, n_frames=9)
    (path / "dorsal_stream" / "vidB.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 truncated")
    with pytest.raises(DataError, match=r"vidB.mp4: cannot decode the video"):
        read_video(path / "dorsal_stream" / "vidB.mp4")
    (path / "dorsal_stream" / "vidC.mp4").unlink()
    with pytest.raises(DataError, match=r"dorsal_stream: 1 stimulus video\(s\) missing, e.g. vidC.mp4"):
        get_reader("stsbench").read(path)


def test_pickle_problems(stsbench_dir):
    path, _ = stsbench_dir
    pk = path / "dorsal_stream_dataset.pickle"
    blob = pickle.loads(pk.read_bytes())
    del blob["test_activity"]
    pk.write_bytes(pickle.dumps(blob))
    with pytest.raises(DataError, match=r"dorsal_stream_dataset.pickle: missing key 'test_activity'"):
        get_reader("stsbench").read(path)
    pk.write_bytes(b"not a pickle")
    with pytest.raises(DataError, match=r"dorsal_stream_dataset.pickle: cannot unpickle dataset pickle"):
        get_reader("stsbench").read(path)


def test_activity_shape_mismatch(stsbench_dir):
    path, activity = stsbench_dir
    pk = path / "dorsal_stream_dataset.pickle"
    blob = pickle.loads(pk.read_bytes())
    blob["train_activity"] = blob["train_activity"][:2]
    pk.write_bytes(pickle.dumps(blob))
    with pytest.raises(DataError, match=r"'train_activity': shape \(2, 5\) does not match 3 train stimuli"):
        get_reader("stsbench").read(path)


def test_neuron_table_mismatch(stsbench_dir):
    path, _ = stsbench_dir
    pd.DataFrame({"neuron_uid": [0, 1]}).to_pickle(path / "dorsal_stream_neuron_table.pickle")
    with pytest.raises(DataError, match=r"neuron_table.pickle: has 2 rows but the activity has 5 neurons"):
        get_reader("stsbench").read(path)


def _tvsd_release(root, **extra):
    """Three single-frame THINGS videos and a dataset pickle with ``extra`` keys, in TVSD's layout."""
    (root / "ventral_stream").mkdir(exist_ok=True)
    for n in ["cat_01", "dog_02", "car_03"]:
        write_video(root / "ventral_stream" / f"{n}.mp4", _brightness_movie(100, n=2, h=64, w=64))
    blob = {"train_stimuli": np.array(["cat_01", "dog_02"]), "test_stimuli": np.array(["car_03"]),
            "train_activity": np.ones((2, 3)), "test_activity": np.ones((1, 3)), **extra}
    with open(root / "ventral_stream_dataset.pickle", "wb") as fh:
        pickle.dump(blob, fh)


def test_tvsd_images(tmp_path):
    _tvsd_release(tmp_path, reliab=np.array([0.5, 0.6, 0.7]))
    ds = get_reader("tvsd").read(tmp_path, size=16)
    assert ds["stimuli"].dims == ("stimulus", "y", "x", "channel")
    np.testing.assert_allclose(ds["reliability"].values, [0.5, 0.6, 0.7])
    np.testing.assert_allclose(ds["stimuli"].values.mean() * 255, 100, atol=4)


def test_stsbench_reliability_key_and_count(tmp_path):
    """STSBench's preprocessing stores neuron reliabilities as `reliability` (TVSD: `reliab`)."""
    _tvsd_release(tmp_path, reliability=np.array([0.1, 0.2, 0.3]))
    np.testing.assert_allclose(get_reader("tvsd").read(tmp_path, size=16)["reliability"].values, [0.1, 0.2, 0.3])
    _tvsd_release(tmp_path, reliability=np.array([0.1, 0.2]))
    with pytest.raises(DataError, match="reliability.*has 2 values for 3 neurons"):
        get_reader("tvsd").read(tmp_path, size=16)


def test_truncated_things_names_match_their_videos(tmp_path):
    """Upstream pickles hold names as fixed-width unicode: a truncated name finds the one video it
    starts; a truncated name shared by two videos is an error naming it."""
    _tvsd_release(tmp_path)
    (tmp_path / "ventral_stream" / "car_03.mp4").rename(tmp_path / "ventral_stream" / "car_03_long_things_name.mp4")
    ds = get_reader("tvsd").read(tmp_path, size=16)
    assert list(ds["stimulus"].values) == ["cat_01", "dog_02", "car_03"]
    write_video(tmp_path / "ventral_stream" / "car_03_other.mp4", _brightness_movie(50, n=2, h=64, w=64))
    with pytest.raises(DataError, match="stimulus name 'car_03' \\(truncated\\?\\) matches several videos"):
        get_reader("tvsd").read(tmp_path, size=16)
