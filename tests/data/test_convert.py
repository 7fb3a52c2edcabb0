"""Streaming conversion: identical stores on repeat, resume after a kill, no partial output."""

import filecmp
import re
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import cortexkit.data.conversion as convert_mod
from cortexkit import data
from cortexkit.data.readers.registry import READERS, register
from cortexkit.errors import ConfigError, DataError


@pytest.fixture(scope="module")
def toy_format():
    """A registered reader over a .npz file, with lazy-sized data split into many chunks."""

    @register("toy_npz", summary="test format", example="-")
    def read(path, *, scale: float = 1.0):
        z = np.load(path)
        return data.make_dataset(z["stimuli"] * scale, z["responses"], z["ids"], z["split"])

    yield "toy_npz"
    READERS.pop("toy_npz")


@pytest.fixture
def toy_source(tmp_path):
    rng = np.random.default_rng(0)
    n = 40
    path = tmp_path / "toy.npz"
    np.savez(path, stimuli=rng.random((n, 16, 16)).astype(np.float32), responses=rng.poisson(2, (n, 3)).astype(np.float32),
             ids=np.arange(n), split=np.array(["train"] * 30 + ["test"] * 10))
    return path


def _tree(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*") if p.is_file())


def test_convert_twice_gives_identical_stores(tmp_path, toy_source, toy_format, monkeypatch):
    monkeypatch.setattr(convert_mod, "CHUNK_BYTES", 16 * 16 * 4 * 7)  # 7 stimuli per chunk
    a = data.convert(toy_source, tmp_path / "a.zarr", toy_format)
    b = data.convert(toy_source, tmp_path / "b.zarr", toy_format)
    assert _tree(a) == _tree(b)
    for rel in _tree(a):
        assert filecmp.cmp(a / rel, b / rel, shallow=False), rel
    xr.testing.assert_identical(data.load(a), data.load(b))
    assert not list(tmp_path.glob("*.partial*"))


def test_killed_conversion_resumes(tmp_path, toy_source, toy_format, monkeypatch):
    monkeypatch.setattr(convert_mod, "CHUNK_BYTES", 16 * 16 * 4 * 7)
    reference = data.convert(toy_source, tmp_path / "ref.zarr", toy_format)
    written = []
    real_check = convert_mod._check_chunk

    def dying(name, values, source):
        if len(written) == 3:
            raise KeyboardInterrupt  # the process is killed mid-way
        written.append(name)
        real_check(name, values, source)

    monkeypatch.setattr(convert_mod, "_check_chunk", dying)
    out = tmp_path / "out.zarr"
    with pytest.raises(KeyboardInterrupt):
        data.convert(toy_source, out, toy_format)
    assert not out.exists() and (tmp_path / "out.zarr.partial").is_dir()

    resumed = []
    monkeypatch.setattr(convert_mod, "_check_chunk", lambda n, v, s: (resumed.append(n), real_check(n, v, s)))
    messages = []
    data.convert(toy_source, out, toy_format, log=messages.append)
    total_chunks = 6 + 1  # 40 stimuli in chunks of 7, and the responses in one chunk
    assert len(resumed) == total_chunks - 3
    assert any("resuming" in m for m in messages)
    xr.testing.assert_identical(data.load(out), data.load(reference))
    assert not list(tmp_path.glob("out.zarr.partial*"))


def test_changed_options_restart(tmp_path, toy_source, toy_format, monkeypatch):
    monkeypatch.setattr(convert_mod, "CHUNK_BYTES", 16 * 16 * 4 * 7)
    calls = []
    real_check = convert_mod._check_chunk

    def dying(name, values, source):
        if len(calls) == 2:
            raise KeyboardInterrupt
        calls.append(name)
        real_check(name, values, source)

    monkeypatch.setattr(convert_mod, "_check_chunk", dying)
    with pytest.raises(KeyboardInterrupt):
        data.convert(toy_source, tmp_path / "o.zarr", toy_format)
    monkeypatch.setattr(convert_mod, "_check_chunk", real_check)
    out = data.convert(toy_source, tmp_path / "o.zarr", toy_format, {"scale": 0.5})
    np.testing.assert_allclose(data.load(out)["stimuli"].values, np.load(toy_source)["stimuli"] * 0.5)


def test_bad_values_found_while_streaming(tmp_path, toy_source, toy_format):
    with pytest.raises(DataError, match=r"'stimuli': values span \[.*\]; expected \[0, 1\]"):
        data.convert(toy_source, tmp_path / "bad.zarr", toy_format, {"scale": 3.0})
    assert not (tmp_path / "bad.zarr").exists()


def test_unknown_format_and_option(tmp_path, toy_source, toy_format):
    with pytest.raises(ConfigError, match="unknown format 'nwb2'"):
        data.convert(toy_source, tmp_path / "x.zarr", "nwb2")
    with pytest.raises(ConfigError, match=r"reader 'toy_npz' has no option\(s\) size; it takes scale"):
        data.convert(toy_source, tmp_path / "x.zarr", toy_format, {"size": 3})
    with pytest.raises(DataError, match="missing.npz: no such file"):
        data.convert(tmp_path / "missing.npz", tmp_path / "x.zarr", toy_format)


@pytest.mark.parametrize("bad, count, what", [(np.nan, 3, "3 NaN/inf value(s) (the source declares no missing responses)"),
                                              (1e30, 2, "2 value(s) beyond +-1e+12")])
def test_bad_response_values_are_rejected_with_their_count(tmp_path, toy_source, toy_format, bad, count, what):
    """NaN is legitimate only where a reader declares missing responses (attrs missing_responses);
    other NaN and absurd magnitudes (a garbage file body) are rejected with file, variable and count."""
    z = dict(np.load(toy_source))
    z["responses"] = z["responses"].astype(np.float64)
    z["responses"].flat[:count] = bad
    np.savez(toy_source, **z)
    with pytest.raises(DataError, match=re.escape(f"toy.npz: 'responses': contains {what}")):
        data.convert(toy_source, tmp_path / "o.zarr", toy_format)
    assert not (tmp_path / "o.zarr").exists() and not (tmp_path / "o.zarr.partial").exists()


def test_declared_missing_responses_may_be_nan(tmp_path):
    @register("toy_padded", summary="test format", example="-")
    def read(path):
        z = np.load(path)
        return data.make_dataset(z["stimuli"], z["responses"], z["ids"], z["split"], attrs={"missing_responses": "padding"})

    try:
        rng = np.random.default_rng(1)
        resp = rng.poisson(2, (20, 3)).astype(np.float32)
        resp[0, 0] = np.nan
        np.savez(tmp_path / "p.npz", stimuli=rng.random((20, 8, 8)).astype(np.float32), responses=resp,
                 ids=np.arange(20), split=np.array(["train"] * 15 + ["test"] * 5))
        ds = data.open(data.convert(tmp_path / "p.npz", tmp_path / "p.zarr", "toy_padded"), check_values=True)
        assert np.isnan(ds["responses"].values[0, 0]) and ds.attrs["missing_responses"] == "padding"
    finally:
        READERS.pop("toy_padded")


def test_a_second_conversion_to_the_same_store_is_refused(tmp_path, toy_source, toy_format):
    import subprocess
    import sys

    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        (tmp_path / "o.zarr.lock").write_text(str(holder.pid))  # another live conversion holds the store
        with pytest.raises(ConfigError, match=f"o.zarr is being written by another process \\(pid {holder.pid}\\)"):
            data.convert(toy_source, tmp_path / "o.zarr", toy_format)
    finally:
        holder.kill()
        holder.wait()
    data.convert(toy_source, tmp_path / "o.zarr", toy_format)  # the stale lock is taken over
    assert (tmp_path / "o.zarr").is_dir() and not (tmp_path / "o.zarr.lock").exists()


def test_bad_values_after_finished_chunks_leave_no_partial_store(tmp_path, toy_source, monkeypatch):
    """Bad input stays bad on a rerun: even when chunks were written before the bad one, the partial
    store is removed (a kill keeps it, to resume: test_killed_conversion_resumes)."""

    @register("toy_unchecked", summary="test format", example="-")
    def read(path):  # a reader that leaves the values to the streaming checks, as lazy readers do
        z = np.load(path)
        return data.make_dataset(z["stimuli"], z["responses"], z["ids"], z["split"], validate_result=False)

    monkeypatch.setattr(convert_mod, "CHUNK_BYTES", 16 * 16 * 4 * 7)
    z = dict(np.load(toy_source))
    z["responses"] = z["responses"].astype(np.float64)
    z["responses"].flat[-1] = np.inf
    np.savez(toy_source, **z)
    try:
        with pytest.raises(DataError, match=r"'responses': contains 1 NaN/inf value"):
            data.convert(toy_source, tmp_path / "o.zarr", "toy_unchecked")
    finally:
        READERS.pop("toy_unchecked")
    assert not (tmp_path / "o.zarr").exists() and not list(tmp_path.glob("o.zarr.partial*"))
