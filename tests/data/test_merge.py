"""Merging recordings of two regions by stimulus: pseudo-trials, unit coordinates, splits, content
matching, the STSBench/TVSD release layout end to end, and clear errors."""

import pickle

import numpy as np
import pytest

from cortexkit import data
from cortexkit.data.readers import get_reader
from cortexkit.errors import DataError
from cortexkit.simulate import simulate_streams
from tests.data.readers.test_stsbench import write_video


def _recording(labels, trials, n_units, seed, split=None, size=8, modality="spikes"):
    rng = np.random.default_rng(seed)
    stimuli = np.stack([np.random.default_rng([ord(c) for c in s]).random((size, size)) for s in labels])
    stim_ids = [s for s, k in zip(labels, trials) for _ in range(k)]
    return data.make_dataset(stimuli, rng.random((len(stim_ids), n_units)), stim_ids, split or ["train"] * (len(labels) - 1) + ["test"],
                             stimulus=labels, unit_coords={"depth": np.arange(n_units, dtype=float)},
                             attrs={"modality": modality})


def test_pseudo_trials_pair_repeats_in_order_and_keep_shared_stimuli():
    a = _recording(["x", "y", "z"], [3, 1, 2], 4, 0, split=["train", "test", "train"])
    b = _recording(["y", "z", "w"], [2, 2, 1], 2, 1, split=["train", "train", "test"])
    b = b.assign_coords(area=("unit", ["MT", "MST"]))
    m = data.merge_regions({"v4": a, "mt": b})
    assert list(m["stimulus"].values) == ["y", "z"]
    assert list(m["split"].values) == ["test", "train"]  # held out in any recording -> held out
    assert list(m["stimulus_id"].values) == ["y", "z", "z"]  # y: min(1, 2) trials, z: min(2, 2)
    assert m.sizes["unit"] == 6
    assert list(m["area"].values) == ["v4"] * 4 + ["mt"] * 2
    assert list(m["source_area"].values) == [""] * 4 + ["MT", "MST"]
    assert list(m["unit"].values[:2]) == ["v4/0", "v4/1"]
    # the k-th trial of each stimulus in a is paired with the k-th in b
    np.testing.assert_allclose(m["responses"].values[:, :4], a["responses"].values[[3, 4, 5]])
    np.testing.assert_allclose(m["responses"].values[:, 4:], b["responses"].values[[0, 2, 3]])
    np.testing.assert_allclose(m["stimuli"].values, a["stimuli"].values[[1, 2]])
    data.validate(m)


def test_content_matching_finds_the_same_images_under_other_labels():
    a = _recording(["x", "y", "z", "u"], [1, 1, 1, 1], 3, 0, size=16)
    b = a.isel(stimulus=[3, 0, 2], trial=[0, 3, 2], unit=[0, 1]).assign_coords(stimulus=["img3", "img0", "img2"])
    b["stimuli"] = np.clip(b["stimuli"] + np.random.default_rng(2).normal(0, 0.01, b["stimuli"].shape), 0, 1).astype(np.float32)
    b["stimulus_id"] = ("trial", ["img0", "img3", "img2"])
    m = data.merge_regions({"a": a, "b": b}, match="content")
    assert list(m["stimulus"].values) == ["x", "z", "u"]
    # b's trial of img0 (its first trial) is paired with a's trial of x
    np.testing.assert_allclose(m["responses"].values[0, 3:], b["responses"].values[0])
    with pytest.raises(DataError, match="differs from a's"):
        data.merge_regions({"a": a, "b": b.assign_coords(stimulus=["x", "y", "z"]).assign(stimulus_id=("trial", ["y", "x", "z"]))})


@pytest.mark.parametrize("change, message", [
    (lambda b: b.assign_attrs(modality="fmri"), "modality 'fmri' differs from a's 'spikes'"),
    (lambda b: b.isel(y=slice(0, 6)), "stimuli .* differ from a's"),
    (lambda b: b.assign_coords(stimulus=["p", "q"]).assign(stimulus_id=("trial", ["p", "q"])), "no stimulus is in every recording"),
])
def test_errors_name_the_recording_and_field(change, message):
    a = _recording(["x", "y"], [1, 1], 2, 0)
    b = change(_recording(["x", "y"], [1, 1], 2, 0))
    with pytest.raises(DataError, match=message):
        data.merge_regions({"a": a, "b": b})
    with pytest.raises(DataError, match="needs two or more recordings"):
        data.merge_regions({"a": a})
    with pytest.raises(DataError, match="match must be one of"):
        data.merge_regions({"a": a, "b": a}, match="name")


def test_split_recording_merges_back_to_the_original():
    """A two-region simulation split into one store per region and merged again gives the same
    responses, stimuli and stimulus parameters (so `cortexkit streams` sees the same data)."""
    ds = simulate_streams(n_objects=2, n_directions=2, speeds=[1.0], n_starts=1, n_repeats=2, n_dorsal=3, n_ventral=4,
                          size=16, n_frames=5)
    parts = {area: ds.isel(unit=np.flatnonzero(ds["area"].values == area)) for area in ("dorsal", "ventral")}
    parts = {k: v.drop_vars([n for n in v.data_vars if n not in ("stimuli", "responses", "stimulus_id", "split")])
             for k, v in parts.items()}
    m = data.merge_regions(parts)
    np.testing.assert_array_equal(m["responses"].values, ds["responses"].values)
    np.testing.assert_array_equal(m["stimulus_id"].values, ds["stimulus_id"].values)
    np.testing.assert_array_equal(m["area"].values, ds["area"].values)
    for c in ("motion_direction", "object", "split"):
        np.testing.assert_array_equal(m[c].values, ds[c].values)
    # by content, with the ventral store's movies renamed and reordered: the same object moving in
    # different directions has the same frame average, so matching has to look at several frames
    v = parts["ventral"]
    order = np.random.default_rng(0).permutation(v.sizes["stimulus"])
    names = {s: f"movie{i}" for i, s in enumerate(v["stimulus"].values[order])}
    v = v.isel(stimulus=order).assign_coords(stimulus=[names[s] for s in v["stimulus"].values[order]])
    v["stimulus_id"] = ("trial", [names[s] for s in v["stimulus_id"].values])
    m = data.merge_regions({"dorsal": parts["dorsal"], "ventral": v}, match="content")
    np.testing.assert_array_equal(m["responses"].values, ds["responses"].values)
    np.testing.assert_array_equal(m["stimulus"].values, ds["stimulus"].values)


def _release(root):
    """STSBench's release layout with both streams' pickles over videos with shared names (dorsal
    and ventral recorded on the same movies), each stream with one movie of its own."""
    names = {"dorsal_stream": ["m0", "m1", "m2", "m3", "d_only"], "ventral_stream": ["m2", "m0", "m1", "m3", "v_only"]}
    rng = np.random.default_rng(0)
    for stream, order in names.items():
        (root / stream).mkdir()
        for n in order:
            level = 30 * int(n[1]) if n[1].isdigit() else 200
            frames = np.stack([np.full((48, 64, 3), min(255, level + 10 * k), np.uint8) for k in range(5)])
            frames[:, : 8 + 4 * (len(n)), :8] = 255  # a corner mark that differs between movies
            write_video(root / stream / f"{n}.mp4", frames)
        act = rng.random((5, 4 if stream == "dorsal_stream" else 3))
        blob = {"train_stimuli": np.array(order[:4]), "test_stimuli": np.array(order[4:]),
                "train_activity": act[:4], "test_activity": act[4:]}
        if stream == "ventral_stream":  # one movie held out by the ventral release only
            blob = {**blob, "train_stimuli": np.array(order[1:4]), "test_stimuli": np.array([order[0], order[4]]),
                    "train_activity": act[1:4], "test_activity": act[[0, 4]]}
        with open(root / f"{stream}_dataset.pickle", "wb") as fh:
            pickle.dump(blob, fh)


def test_stsbench_and_tvsd_release_merge_on_the_command_line(tmp_path):
    from typer.testing import CliRunner

    from cortexkit.cli import app

    _release(tmp_path)
    runner = CliRunner()
    for fmt, name in (("stsbench", "dorsal"), ("tvsd", "ventral")):
        r = runner.invoke(app, ["data", "convert", str(tmp_path), str(tmp_path / f"{name}.zarr"), "--format", fmt,
                                "-o", "crop=none", "-o", "frames=3", "-o", "size=16"])
        assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["data", "merge", str(tmp_path / "both.zarr"), f"dorsal={tmp_path / 'dorsal.zarr'}",
                            f"ventral={tmp_path / 'ventral.zarr'}"])
    assert r.exit_code == 0, r.output
    assert "4 shared stimuli" in r.output
    m = data.load(tmp_path / "both.zarr")
    dorsal, ventral = data.load(tmp_path / "dorsal.zarr"), data.load(tmp_path / "ventral.zarr")
    assert list(m["stimulus"].values) == ["m0", "m1", "m2", "m3"]
    assert list(m["area"].values) == ["dorsal"] * 4 + ["ventral"] * 3
    assert list(m["split"].values) == ["train", "train", "test", "train"]  # m2 is held out by the ventral release
    np.testing.assert_allclose(m["responses"].values[:, :4], dorsal["responses"].values[:4])
    np.testing.assert_allclose(m["responses"].values[1, 4:], ventral["responses"].values[
        list(ventral["stimulus_id"].values).index("m1")])
    r = runner.invoke(app, ["data", "merge", str(tmp_path / "x.zarr"), f"dorsal{tmp_path / 'dorsal.zarr'}", "v=y"])
    assert r.exit_code == 2 and "expected AREA=STORE" in r.output


def test_time_binned_responses_merge_and_mismatched_bins_are_named():
    def binned(labels, n_units, n_time, seed, rate=100.0):
        ds = _recording(labels, [2] * len(labels), n_units, seed)
        rng = np.random.default_rng(seed)
        return data.make_dataset(ds["stimuli"].values, rng.random((ds.sizes["trial"], n_units, n_time)),
                                 ds["stimulus_id"].values, ds["split"].values, stimulus=labels,
                                 attrs={"modality": "spikes", "sampling_rate": rate})

    a, b = binned(["x", "y", "z"], 3, 5, 0), binned(["x", "y", "z"], 2, 5, 1)
    m = data.merge_regions({"a": a, "b": b})
    assert m["responses"].dims == ("trial", "unit", "time") and m["responses"].shape == (6, 5, 5)
    np.testing.assert_allclose(m["responses"].values[:, 3:], b["responses"].values)
    data.validate(m)
    with pytest.raises(DataError, match="time bins"):
        data.merge_regions({"a": a, "b": binned(["x", "y", "z"], 2, 4, 1)})
    with pytest.raises(DataError, match="sampling_rate 50.0 differs"):
        data.merge_regions({"a": a, "b": binned(["x", "y", "z"], 2, 5, 1, rate=50.0)})
