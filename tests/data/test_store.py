import json
import os
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from cortexkit import data
from cortexkit.errors import DataError


def test_roundtrip_keeps_everything(tmp_path, small_v1):
    path = data.save(small_v1, tmp_path / "rec.zarr")
    back = data.load(path)
    xr.testing.assert_identical(back, small_v1)
    assert back["cell_type"].dtype.kind == "U"  # text comes back as plain unicode


def test_save_replaces_atomically(tmp_path, small_v1):
    path = tmp_path / "rec.zarr"
    data.save(small_v1, path)
    smaller = data.select(small_v1, ["train", "test"]).isel(unit=slice(0, 3))
    data.save(smaller, path)
    assert data.open(path).sizes["unit"] == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rec.zarr"]  # no temp or old copies left


def test_failed_save_leaves_previous_store(tmp_path, small_v1, monkeypatch):
    path = tmp_path / "rec.zarr"
    data.save(small_v1, path)

    def broken(self, store, **kwargs):
        Path(store).mkdir()
        (Path(store) / "partial").write_text("x")
        raise OSError("disk full")

    monkeypatch.setattr(xr.Dataset, "to_zarr", broken)
    with pytest.raises(OSError, match="disk full"):
        data.save(small_v1.isel(unit=slice(0, 2)), path)
    monkeypatch.undo()
    assert data.open(path).sizes["unit"] == small_v1.sizes["unit"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rec.zarr"]


def test_invalid_dataset_is_not_written(tmp_path, small_v1):
    bad = small_v1.copy(deep=True)
    bad["stimulus_id"][0] = -5
    with pytest.raises(DataError, match="'stimulus_id'"):
        data.save(bad, tmp_path / "bad.zarr")
    assert not (tmp_path / "bad.zarr").exists()


def test_open_missing(tmp_path):
    with pytest.raises(DataError, match=r"nope.zarr: no such file or directory"):
        data.open(tmp_path / "nope.zarr")


def test_open_not_a_store(tmp_path):
    (tmp_path / "empty.zarr").mkdir()
    with pytest.raises(DataError, match=r"empty.zarr: not a Zarr store"):
        data.open(tmp_path / "empty.zarr")
    (tmp_path / "file.zarr").write_text("hello")
    with pytest.raises(DataError, match=r"file.zarr: not a Zarr store"):
        data.open(tmp_path / "file.zarr")


def test_open_corrupt_metadata(tmp_path, small_v1):
    path = data.save(small_v1, tmp_path / "rec.zarr")
    (path / "zarr.json").write_text("{ this is not json")
    with pytest.raises(DataError, match=r"rec.zarr: cannot read the Zarr store"):
        data.open(path)


def test_open_missing_variable_metadata(tmp_path, small_v1):
    path = data.save(small_v1, tmp_path / "rec.zarr")
    meta = json.loads((path / "split" / "zarr.json").read_text())
    meta["shape"] = [1, 2, 3]  # inconsistent with its dims
    (path / "split" / "zarr.json").write_text(json.dumps(meta))
    with pytest.raises(DataError, match=r"rec.zarr"):
        data.open(path)


def test_load_corrupt_chunk(tmp_path, small_v1):
    path = data.save(small_v1, tmp_path / "rec.zarr")
    chunks = [p for p in (path / "responses").rglob("*") if p.is_file() and p.name != "zarr.json"]
    assert chunks
    for chunk in chunks:
        chunk.write_bytes(b"garbage" * 3)
    with pytest.raises(DataError, match=r"rec.zarr: cannot read the Zarr store"):
        data.load(path)


def test_open_reports_data_model_violation(tmp_path, small_v1):
    path = tmp_path / "rec.zarr"
    data.save(small_v1.drop_vars("split"), path, validate_first=False)
    with pytest.raises(DataError, match=r"rec.zarr: 'split': missing"):
        data.open(path)


def test_open_is_lazy(tmp_path, small_v1):
    path = data.save(small_v1, tmp_path / "rec.zarr")
    ds = data.open(path)
    assert not isinstance(ds["stimuli"].variable._data, np.ndarray)
    assert os.path.isdir(path)


@pytest.mark.slow  # over 8 s; CI runs it
def test_coordinate_order_does_not_depend_on_the_writing_process(tmp_path):
    """xarray lists a variable's coordinates from a set (hash-seed order); stores written by
    processes with different hash seeds must open with the same coordinate order (results tables
    have one column per unit coordinate)."""
    import os
    import subprocess
    import sys

    script = (
        "import sys, numpy as np\nfrom cortexkit import data\n"
        "ds = data.make_dataset(np.random.rand(4, 8, 8).astype('float32'), np.random.rand(6, 3).astype('float32'),"
        " np.array([0, 1, 2, 3, 0, 1]), np.array(['train', 'train', 'test', 'test']),"
        " unit_coords={'area': ['V1'] * 3, 'session': ['a'] * 3, 'animal': ['m'] * 3, 'depth': [1.0, 2, 3]})\n"
        "data.save(ds, sys.argv[1])\n"
    )
    orders = set()
    for seed in ("1", "2", "3", "4"):
        path = tmp_path / f"s{seed}.zarr"
        subprocess.run([sys.executable, "-c", script, str(path)], check=True, env={**os.environ, "PYTHONHASHSEED": seed})
        ds = data.open(path)
        orders.add(tuple(c for c in ds.coords if ds[c].dims == ("unit",)))
    assert orders == {("unit", "animal", "area", "depth", "session")}
