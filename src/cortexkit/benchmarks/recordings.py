"""The stores a benchmark reads: each recording converted from its source (or simulated) once,
and made again only when a source file's content, a reader option or simulation setting, or the code
of the reader (or simulator) changed. A source restored from a copy (same content, new modification
times) is not converted again: files are known by content, hashed once per size and modification
time (the hashes are remembered in ``OUT/stores/source-hashes.json``)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from cortexkit import data
from cortexkit._atomic import write_text
from cortexkit.benchmarks.definition import Benchmark
from cortexkit.errors import ConfigError, CortexkitError, listed
from cortexkit.code_stamps import code_stamp, modules_hash
from cortexkit.data.readers import get_reader
from cortexkit.pipelines import simulate_recording

STORES = "stores"


HASHES = "source-hashes.json"  # under OUT/stores: content hashes of source files by path, size and mtime


def source_stamp(source: Path, memo: Path | None = None) -> str:
    """A hash of every file under ``source`` (relative path and content): it changes when a file's
    content changes or a file is added or removed, not when a copy is restored with new modification
    times. Content hashes are remembered in ``memo`` (a JSON file) by path, size and modification
    time, so unchanged files are read once."""
    known = {}
    if memo is not None and memo.is_file():
        try:
            known = json.loads(memo.read_text())
        except ValueError:  # a damaged memo only costs reading the files again
            known = {}
    h, seen = hashlib.sha1(), {}
    paths = [source] if source.is_file() else sorted(p for p in source.rglob("*") if p.is_file())
    for p in paths:
        st = p.stat()
        key = f"{p.resolve()}:{st.st_size}:{st.st_mtime_ns}"
        if key not in known:
            digest = hashlib.sha256()
            with p.open("rb") as fh:
                for block in iter(lambda: fh.read(1 << 22), b""):
                    digest.update(block)
            known[key] = digest.hexdigest()
        seen[key] = known[key]
        h.update(f"{p.relative_to(source) if p != source else p.name}:{known[key]}\n".encode())
    if memo is not None and seen:
        memo.parent.mkdir(parents=True, exist_ok=True)
        write_text(memo, json.dumps({**known, **seen}, sort_keys=True))
    return h.hexdigest()


def store_code(bench: Benchmark) -> str:
    """The hash of the code that makes a benchmark's stores: its reader (the module it is defined in and
    what that imports directly) and the store writer, or the simulator package."""
    if bench.simulate is not None:
        return modules_hash("cortexkit.simulate", "cortexkit.pipelines.simulation")
    return code_stamp(get_reader(bench.format).read_fn) + modules_hash("cortexkit.data.conversion", "cortexkit.data.store", "cortexkit.data.readers._common")


def available_recordings(bench: Benchmark, data_root: str | os.PathLike | None) -> dict[str, dict]:
    """Label -> reader options (or simulation settings) of every recording of ``bench`` present."""
    if bench.simulate is not None:
        return dict(bench.recordings)
    source = Path(data_root or ".") / bench.folder
    if not source.exists():
        raise ConfigError(f"{source}: benchmark {bench.name!r} needs its source data here (--data-root)")
    available = bench.discover(source) if bench.discover else bench.recordings
    if not available:
        raise ConfigError(f"{source}: no recordings of benchmark {bench.name!r} found there")
    return available


def stamp_path(store: Path) -> Path:
    """The file beside a benchmark store that records what it was made from."""
    return store.parent / f"{store.name}.source.json"


def _made_from(store: Path, wanted: str) -> bool:
    """Whether ``store`` is a readable store whose source stamp is ``wanted`` (then it is kept)."""
    stamp_file = stamp_path(store)
    if not (store.exists() and stamp_file.is_file() and stamp_file.read_text() == wanted):
        return False
    try:
        data.open(store)
        return True
    except CortexkitError:
        return False


def recording_store(bench: Benchmark, label: str, options: dict, data_root, store: Path, log=print, *,
                    stamp: str | None = None, shared: Path | None = None) -> Path:
    """The store of one recording at ``store``: converted from the source (or simulated) unless a
    store made from the same source files and settings, by the same revision of the reader (or
    simulator), is already there. ``stamp`` is the source
    folder's :func:`source_stamp` when the caller has it (one per folder, not per recording). With
    ``shared`` (a folder of stores, ``OUT/stores``), an identical store made anywhere under it (another
    benchmark's, or the same recording in another role) is returned instead of converting again."""
    store = Path(store)
    if bench.simulate is not None:
        wanted = json.dumps({"simulate": bench.simulate, "config": options, "code": store_code(bench)},
                            sort_keys=True, default=str)
    else:
        source = Path(data_root) / bench.folder
        wanted = json.dumps({"format": bench.format, "options": options, "source": stamp or source_stamp(source),
                             "code": store_code(bench)}, sort_keys=True, default=str)
    made_from = stamp_path(store)
    candidates = [store] + (sorted(p.parent / p.name.removesuffix(".source.json")
                                   for p in Path(shared).rglob("*.zarr.source.json")) if shared else [])
    for candidate in candidates:
        if _made_from(candidate, wanted):
            return candidate
    if bench.simulate is not None:
        log(f"{label}: simulating {bench.simulate.upper()} ({options})")
        result = simulate_recording(bench.simulate, options)
        if isinstance(result, dict):  # several subjects (fmri): the recording is the one named by its label
            if label not in result:
                raise ConfigError(f"benchmark {bench.name!r}: the simulation of {label!r} gives {listed(result)}")
            result = result[label]
        data.save(result, store)
    else:
        log(f"{label}: converting {source} ({bench.format})")
        data.convert(source, store, bench.format, options, log=log)
    write_text(made_from, wanted)
    return store


def prepare_stores(bench: Benchmark, data_root, out, labels: list[str] | None = None, log=print) -> dict[str, str]:
    """Convert (or simulate) the recordings of ``bench`` (``labels``, default all) once, under
    ``OUT/stores/BENCHMARK/``; returns label -> store path. A benchmark with transfer sources scores
    each recording on a store without the test stimuli copied among its sources
    (:func:`transfer_stores`)."""
    recordings = available_recordings(bench, data_root)
    labels = list(recordings) if labels is None else labels
    unknown = [label for label in labels if label not in recordings]
    if unknown:
        where = "its simulation" if bench.simulate else Path(data_root or ".") / bench.folder
        raise ConfigError(f"benchmark {bench.name!r} has no recording(s) {listed(unknown)} in {where}; it has {listed(recordings)}")
    folder = Path(out) / STORES / bench.name
    stamp = None if bench.simulate else source_stamp(Path(data_root) / bench.folder, Path(out) / STORES / HASHES)
    if bench.sources is None or bench.simulate is not None:
        return {label: str(recording_store(bench, label, recordings[label], data_root, folder / f"{label}.zarr", log,
                                           stamp=stamp)) for label in labels}
    full = {label: recording_store(bench, label, recordings[label], data_root, folder / FULL / f"{label}.zarr", log,
                                   stamp=stamp, shared=Path(out) / STORES) for label in labels}
    sources = source_stores(bench, data_root, out, log, stamp=stamp)
    return {label: str(scored_store(full[label], folder / f"{label}.zarr",
                                    [s for other, s in sources.items() if other != label], log))
            for label in labels}


FULL, SOURCES = "full", "sources"  # under OUT/stores/BENCHMARK: recordings as converted, and the transfer sources
LEFT_OUT = "test_copies_in_sources"  # attrs of a scored store: test stimuli left out (copies among its sources)


def source_stores(bench: Benchmark, data_root, out, log=print, *, stamp: str | None = None) -> dict[str, dict]:
    """The transfer sources of ``bench``, converted once under ``OUT/stores/BENCHMARK/sources/``:
    label -> ``{"path", "split"}`` (see :class:`~cortexkit.benchmarks.definition.Benchmark`)."""
    found = bench.sources(Path(data_root) / bench.folder)
    folder = Path(out) / STORES / bench.name / SOURCES
    out_ = {}
    for label, entry in found.items():
        if set(entry) - {"options", "split"} or entry.get("split", "all") not in ("all", "train"):
            raise ConfigError(f"benchmark {bench.name!r}: source {label!r} is {entry}; expected {{options, split: all|train}}")
        path = recording_store(bench, label, entry["options"], data_root, folder / f"{label}.zarr", log, stamp=stamp,
                               shared=Path(out) / STORES)
        out_[label] = {"path": str(path), "split": entry.get("split", "all")}
    return out_


def scored_store(full: Path, store: Path, sources: list[dict], log=print) -> Path:
    """The store a recording is scored on: ``full`` without the test stimuli (and their trials) that
    have pixel copies (:func:`cortexkit.data.overlap.copies_of`) among the stimuli its ``sources`` may
    use; their labels are kept in ``attrs["test_copies_in_sources"]``. Made again only when the
    recording or a source changed."""
    from cortexkit.data.overlap import copied_in

    wanted = json.dumps({"recording": stamp_path(full).read_text(),
                         "sources": sorted([stamp_path(Path(s["path"])).read_text(), s["split"]] for s in sources),
                         "code": modules_hash("cortexkit.data.overlap", "cortexkit.benchmarks.recordings")}, sort_keys=True)
    made_from = stamp_path(store)
    if _made_from(store, wanted):
        return store
    ds = data.load(full)
    test = np.flatnonzero(np.asarray(ds["split"].values) == "test")
    held = ds["stimuli"].isel(stimulus=test)
    stimuli, keys = [], []
    for s in sources:
        src = data.open(s["path"])
        if s["split"] == "train":
            src = data.select(src, "train")
        stimuli.append(src["stimuli"])
        keys.append((stamp_path(Path(s["path"])).read_text(), s["split"]))  # each source's thumbnails once
    copied = copied_in(held, stimuli, keys=keys)
    labels = np.asarray(ds["stimulus"].values)
    dropped = labels[test[copied]]
    if copied.any():
        keep = np.setdiff1d(np.arange(ds.sizes["stimulus"]), test[copied])
        trials = np.flatnonzero(~np.isin(np.asarray(ds["stimulus_id"].values), dropped))
        ds = ds.isel(stimulus=keep, trial=trials)
        log(f"{full.stem}: {len(dropped)} of {len(test)} test stimuli have copies among the transfer sources' stimuli: "
            "left out of every model's scores")
    ds.attrs[LEFT_OUT] = json.dumps([str(x) for x in dropped])
    data.save(ds, store)  # replaces the store made before (cortexkit's own)
    write_text(made_from, wanted)
    return store
