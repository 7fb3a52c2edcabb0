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


def recording_store(bench: Benchmark, label: str, options: dict, data_root, store: Path, log=print, *,
                    stamp: str | None = None) -> Path:
    """The store of one recording at ``store``: converted from the source (or simulated) unless a
    store made from the same source files and settings, by the same revision of the reader (or
    simulator), is already there. ``stamp`` is the source
    folder's :func:`source_stamp` when the caller has it (one per folder, not per recording)."""
    store = Path(store)
    if bench.simulate is not None:
        wanted = json.dumps({"simulate": bench.simulate, "config": options, "code": store_code(bench)},
                            sort_keys=True, default=str)
    else:
        source = Path(data_root) / bench.folder
        wanted = json.dumps({"format": bench.format, "options": options, "source": stamp or source_stamp(source),
                             "code": store_code(bench)}, sort_keys=True, default=str)
    made_from = stamp_path(store)
    if store.exists() and made_from.is_file() and made_from.read_text() == wanted:
        try:
            data.open(store)
            return store
        except CortexkitError:
            pass
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
    ``OUT/stores/BENCHMARK/``; returns label -> store path."""
    recordings = available_recordings(bench, data_root)
    labels = list(recordings) if labels is None else labels
    unknown = [label for label in labels if label not in recordings]
    if unknown:
        where = "its simulation" if bench.simulate else Path(data_root or ".") / bench.folder
        raise ConfigError(f"benchmark {bench.name!r} has no recording(s) {listed(unknown)} in {where}; it has {listed(recordings)}")
    folder = Path(out) / STORES / bench.name
    stamp = None if bench.simulate else source_stamp(Path(data_root) / bench.folder, Path(out) / STORES / HASHES)
    return {label: str(recording_store(bench, label, recordings[label], data_root, folder / f"{label}.zarr", log,
                                       stamp=stamp)) for label in labels}
