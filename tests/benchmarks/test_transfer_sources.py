"""Benchmarks with transfer sources: a scored recording's test images copied among its sources' stimuli
are left out of every model's scores (and counted); a model's ``{sources}`` is each recording's others."""

import json

import numpy as np
import pytest

from cortexkit import data
from cortexkit.benchmarks.recordings import LEFT_OUT, scored_store, stamp_path
from cortexkit.benchmarks.tasks.encoding import with_sources
from cortexkit.errors import DataError
from cortexkit.pipelines import EncodingConfig, FeatureSpec


def _store(path, images, split, seed):
    n = len(images)
    names = [f"{path.stem}_{i:03d}" for i in range(n)]
    ids = names + [names[i] for i in range(n) if split[i] == "test"]  # test images shown twice
    responses = np.random.default_rng(seed).random((len(ids), 3))
    ds = data.make_dataset(images, responses, ids, split, stimulus=names, attrs={"source": path.stem})
    data.save(ds, path)
    stamp_path(path).write_text(json.dumps({"made": path.stem, "seed": seed}))
    return path


def test_test_images_copied_in_sources_are_left_out(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.random((20, 16, 16)).astype(np.float32)
    split = ["train"] * 12 + ["test"] * 8
    full = _store(tmp_path / "rec.zarr", images, split, 1)
    other = rng.random((10, 16, 16)).astype(np.float32)
    other[2] = images[13]  # an exact copy of a test image
    other[5] = np.clip(images[17] + rng.normal(0, 0.001, (16, 16)), 0, 1)  # a near copy (re-encoded)
    other[7] = images[3]  # a copy of a training image: harmless
    source = _store(tmp_path / "src.zarr", other, ["train"] * 6 + ["test"] * 4, 2)
    later = rng.random((6, 16, 16)).astype(np.float32)
    later[4] = images[15]  # a copy in a source's test half, which a train-only source never shows its models
    half = _store(tmp_path / "half.zarr", later, ["train"] * 4 + ["test"] * 2, 3)
    out = scored_store(full, tmp_path / "scored.zarr", [{"path": str(source), "split": "all"},
                                                        {"path": str(half), "split": "train"}], log=lambda m: None)
    ds = data.open(out)
    assert json.loads(ds.attrs[LEFT_OUT]) == ["rec_013", "rec_017"]
    assert "rec_013" not in ds["stimulus"].values and "rec_015" in ds["stimulus"].values
    assert ds.sizes["stimulus"] == 18 and ds.sizes["trial"] == 18 + 6  # their repeats went with them
    assert (np.asarray(ds["split"].values) == "test").sum() == 6
    made = (out / "zarr.json").stat().st_mtime_ns if (out / "zarr.json").exists() else None
    again = scored_store(full, tmp_path / "scored.zarr", [{"path": str(source), "split": "all"},
                                                          {"path": str(half), "split": "train"}], log=lambda m: None)
    assert again == out and (made is None or (out / "zarr.json").stat().st_mtime_ns == made)  # not made again
    alone = data.open(scored_store(full, tmp_path / "alone.zarr", [{"path": str(half), "split": "all"}], log=lambda m: None))
    assert json.loads(alone.attrs[LEFT_OUT]) == ["rec_015"]  # all of that source's images: its copy counts


def test_sources_are_filled_in_per_recording():
    config = EncodingConfig(features=[FeatureSpec(name="pixels"),
                                      FeatureSpec(name="population", params={"recordings": "{sources}"})])
    filled = with_sources(config, [{"path": "b.zarr", "split": "all"}])
    assert filled.features[1].params["recordings"] == [{"path": "b.zarr", "split": "all"}]
    assert filled.features[0] == config.features[0] and config.features[1].params["recordings"] == "{sources}"
    with pytest.raises(DataError, match="this benchmark has no transfer sources"):
        with_sources(config, None)
